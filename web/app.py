"""The dashboard, wired: services built once, pages by subject, sessions, and the errors every page may meet."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from engine.abtest import ABTester
from engine.access import Access
from engine.config import Settings
from engine.jobs import JobBook
from engine.reach import youtube_tester
from engine.queue_runner import make_runner
from engine.runner import JobRunner
from engine.store import open_store
from engine.web_logins import USER_SESSION_HOURS, LoginBook, SessionBook, password_mark, web_secret
from web import abtests, auth, jobs, making, overview, tokens
from web.auth import Forbidden, LoginNeeded
from web.jobs import NotFound
from web.limits import SMALL_BODY, BodyLimit
from web.making import LARGEST_UPLOAD
from web.pages import make_templates, page
from web.services import WebServices
from web.throttle import LoginThrottle

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def build_services(settings: Settings, runner: JobRunner | None = None, tester: ABTester | None = None) -> WebServices:
    """The engine's services for the dashboard; jobs submitted here run in this process unless a runner is given."""
    store, secret = open_store(settings), web_secret(settings)
    sessions = SessionBook(store, Access.of(settings), password_mark(secret, settings.web_password))
    ended = sessions.end_lapsed()  # users taken off the lists, sessions of a password that was changed
    if ended:
        log.info("ended %d dashboard session(s) that lost their access or their password", ended)
    return WebServices(
        settings=settings, store=store, jobs=JobBook(store),
        runner=runner or make_runner(settings, store, "web"),
        logins=LoginBook(store, settings.web_login_minutes), sessions=sessions, throttle=LoginThrottle(),
        tester=tester or youtube_tester(settings, store), secret=secret,
    )


def body_limit(method: str, path: str) -> int:
    """The most bytes a request may send: the upload form takes a script and a recording, the rest a small form."""
    return LARGEST_UPLOAD if method == "POST" and path == "/make" else SMALL_BODY


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
    # The cookie names a session on the server (see web.auth); the row, not the cookie, says how long it lasts.
    app.add_middleware(SessionMiddleware, secret_key=services.secret, session_cookie="vf_session",
                       max_age=round(USER_SESSION_HOURS * 3600), same_site="lax", https_only=https)
    app.add_middleware(BodyLimit, limit_of=body_limit)  # added last: it runs first, before any body is read
    for module in (auth, overview, jobs, making, abtests, tokens):
        app.include_router(module.router)
    app.add_exception_handler(LoginNeeded, _login_needed)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(NotFound, _not_found)
    script = _plotly_js()
    app.add_api_route("/static/plotly.min.js", lambda: FileResponse(script, media_type="text/javascript",
                                                                   headers={"Cache-Control": "max-age=86400"}))
    return app


def trusted_proxies(settings: Settings) -> list[str]:
    """VF_WEB_TRUSTED_PROXIES as addresses or networks."""
    return [part.strip() for part in settings.web_trusted_proxies.split(",") if part.strip()]


def server_config(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """uvicorn's settings: X-Forwarded-For is believed only from the trusted proxies, and from none by default."""
    import uvicorn

    trusted = trusted_proxies(settings)
    return uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=bool(trusted),
                          forwarded_allow_ips=trusted or None, server_header=False)


def exposure_warning(settings: Settings, host: str) -> str | None:
    """One sentence when the dashboard listens beyond this machine without https in VF_WEB_URL."""
    if host in LOOPBACK or (settings.web_url or "").startswith("https://"):
        return None
    return (f"the dashboard listens on {host}, beyond this machine, and VF_WEB_URL is not an https:// address: "
            "passwords and session cookies would cross the network in clear; put it behind an HTTPS proxy "
            "(see Security in the README)")


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the dashboard (and the jobs submitted through it) until stopped."""
    import uvicorn

    services = build_services(settings)
    services.runner.start()
    try:
        uvicorn.Server(server_config(create_app(services), settings, host, port)).run()
    finally:
        services.runner.shutdown()
