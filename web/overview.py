"""The overview: videos per day and preset, time per stage, pictures per backend, failures, for 7, 30 or 90 days."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from engine.stats import gather
from web import charts
from web.auth import Viewer, viewer
from web.pages import page, services_of

router = APIRouter()
RANGES = (7, 30, 90)


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, days: int = 7, seen: Viewer = Depends(viewer)) -> Response:
    """The factory at a glance over the chosen range."""
    days = days if days in RANGES else RANGES[0]
    services = services_of(request)
    # A user sees their own chat's figures; the factory's (every chat, the tokens) are for admins.
    stats = await asyncio.to_thread(gather, services.store, days, datetime.now(timezone.utc),
                                    services.settings.hf_budget_usd, None if seen.admin else seen.user_id)
    drawn = {} if stats.quiet else {
        "days": charts.videos_per_day(stats), "presets": charts.videos_per_preset(stats),
        "stages": charts.stage_times(stats), "images": charts.image_success(stats),
    }
    # Failures' own words may name other chats' files: only admins read them.
    return page(request, "overview.html", {"stats": stats, "charts": drawn, "days": days, "ranges": RANGES,
                                           "errors_shown": seen.admin})
