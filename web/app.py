"""The dashboard, wired: services built once, pages by subject, sessions, and the errors every page may meet."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from engine.abtest import ABTester
from engine.config import Settings
from engine.jobs import JobBook
from engine.reach import youtube_tester
from engine.queue_runner import make_runner
from engine.runner import JobRunner
from engine.store import open_store
from engine.web_logins import LoginBook, web_secret
from web import abtests, auth, jobs, making, overview, tokens
from web.auth import Forbidden, LoginNeeded
from web.jobs import NotFound
from web.pages import make_templates, page
from web.services import WebServices

log = logging.getLogger(__name__)
SESSION_DAYS = 7


def build_services(settings: Settings, runner: JobRunner | None = None, tester: ABTester | None = None) -> WebServices:
    """The engine's services for the dashboard; jobs submitted here run in this process unless a runner is given."""
    store = open_store(settings)
    return WebServices(
        settings=settings, store=store, jobs=JobBook(store),
        runner=runner or make_runner(settings, store, "web"),
        logins=LoginBook(store, settings.web_login_minutes),
        tester=tester or youtube_tester(settings, store), secret=web_secret(settings),
    )


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).with_name("package_data") / "plotly.min.js"


async def _login_needed(request: Request, error: Exception) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse({"error": "log in first"}, status_code=401)
    return RedirectResponse("/login", status_code=303)


async def _forbidden(request: Request, error: Exception) -> Response:
    return page(request, "problem.html", {"title": "Not allowed", "message": str(error)}, status=403)


async def _not_found(request: Request, error: Exception) -> Response:
    return page(request, "problem.html", {"title": "Not found", "message": "There is nothing here for you."},
                status=404)


def create_app(services: WebServices) -> FastAPI:
    """The dashboard application over these services."""
    app = FastAPI(title="Video Factory", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services, app.state.templates = services, make_templates()
    https = (services.settings.web_url or "").startswith("https://")
    app.add_middleware(SessionMiddleware, secret_key=services.secret, session_cookie="vf_session",
                       max_age=SESSION_DAYS * 86400, same_site="lax", https_only=https)
    for module in (auth, overview, jobs, making, abtests, tokens):
        app.include_router(module.router)
    app.add_exception_handler(LoginNeeded, _login_needed)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(NotFound, _not_found)
    script = _plotly_js()
    app.add_api_route("/static/plotly.min.js", lambda: FileResponse(script, media_type="text/javascript",
                                                                   headers={"Cache-Control": "max-age=86400"}))
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the dashboard (and the jobs submitted through it) until stopped."""
    import uvicorn

    services = build_services(settings)
    services.runner.start()
    try:
        uvicorn.run(create_app(services), host=host, port=port, log_level="info", proxy_headers=True)
    finally:
        services.runner.shutdown()
