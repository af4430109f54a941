"""A/B tests: each test's schedule, clicks per day and variant as a chart, the estimate and the decision."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from engine.abpower import told
from engine.abreport import variant_name
from engine.errors import InputError
from engine.tables import ABTest
from web import charts
from web.auth import Viewer, viewer
from web.jobs import NotFound
from web.pages import page, services_of

router = APIRouter()


def _tests(request: Request, seen: Viewer) -> list[ABTest]:
    if not seen.admin and seen.user_id is None:
        return []
    return services_of(request).tester.tests(chat_id=None if seen.admin else seen.user_id)


@router.get("/abtests", response_class=HTMLResponse)
async def abtests_page(request: Request, seen: Viewer = Depends(viewer)) -> Response:
    """Every test the visitor may see, newest first."""
    tests = await asyncio.to_thread(_tests, request, seen)
    power = await asyncio.to_thread(services_of(request).tester.power_on, None)
    return page(request, "abtests.html", {"tests": tests, "name": variant_name, "power": told(power)})


def _detail(request: Request, seen: Viewer, test_id: int) -> dict[str, object]:
    tester = services_of(request).tester
    try:
        test = tester.test(test_id)
    except InputError:
        raise NotFound from None
    if not seen.may_see(test.chat_id):
        raise NotFound
    results = tester.results(test)
    names = {variant: variant_name(test, variant) for variant in range(1, test.variants + 1)}
    return {"test": test, "schedule": tester.schedule(test_id), "analysis": tester.analysis(test),
            "chart": charts.ab_days(results, names) if results else "", "names": names, "results": results,
            "looks": tester.looks_made(test), "changed": tester.changed_after_looks(test),
            "power": told(tester.power_on(test.channel)) if test.kind == "thumbnail" and test.state == "running" else ""}


@router.get("/abtests/{test_id}", response_class=HTMLResponse)
async def abtest_page(request: Request, test_id: int, seen: Viewer = Depends(viewer)) -> Response:
    """One test: its planned days, its judged days as a chart, the current estimate and the looks made."""
    return page(request, "abtest.html", await asyncio.to_thread(_detail, request, seen, test_id))
