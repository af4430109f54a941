"""Logging in and who is looking: one-time links from the bot, the admin password, sessions and CSRF tokens.

The signed cookie carries only a session's secret and the CSRF token; the session itself is a row on the
server (engine.web_logins.SessionBook), so logging out, a new password or a lost access ends it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.web_logins import Visitor
from web.pages import page, services_of

router = APIRouter()
log = logging.getLogger(__name__)
WRONG_PASSWORD_PAUSE = 1.0  # seconds: each wrong guess also waits, on top of the throttle's count


class LoginNeeded(Exception):
    """The request has no session: the visitor is sent to the login page."""


class Forbidden(Exception):
    """A logged-in visitor asked for what is not theirs (or a form without its CSRF token)."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a chat's user (their own jobs) or an admin (everything)."""

    user_id: int | None
    admin: bool
    csrf: str

    def may_see(self, chat_id: int | None) -> bool:
        """Whether a job of this chat is theirs to see and act on."""
        return self.admin or (chat_id is not None and chat_id == self.user_id)


def csrf_of(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def viewer(request: Request) -> Viewer:
    """The logged-in visitor (a FastAPI dependency); LoginNeeded without a session that still counts."""
    secret = request.session.get("sid")
    found = services_of(request).sessions.find(secret) if isinstance(secret, str) else None
    if found is None:
        raise LoginNeeded
    request.state.viewer = seen = Viewer(found.user_id, found.admin, csrf_of(request))
    return seen


def admin(request: Request) -> Viewer:
    """The logged-in visitor, who must be an admin."""
    seen = viewer(request)
    if not seen.admin:
        raise Forbidden("only the factory's admins see this page")
    return seen


def _check_csrf(request: Request, sent: str) -> None:
    if not sent or not secrets.compare_digest(sent, csrf_of(request)):
        raise Forbidden("the form was out of date or not sent from this site: reload the page and try again")


async def checked_form(request: Request) -> dict[str, object]:
    """A posted form whose CSRF token matches the session's; Forbidden otherwise."""
    form = await request.form()
    _check_csrf(request, str(form.get("csrf") or ""))
    return dict(form)


async def checked_upload(request: Request) -> dict[str, object]:
    """A posted form with files: its CSRF token travels in the address, so it is checked before a byte is read."""
    _check_csrf(request, request.query_params.get("csrf", ""))
    return dict(await request.form())


def _start_session(request: Request, visitor: Visitor) -> None:
    secret = services_of(request).sessions.open(visitor)
    request.session.clear()
    request.session.update({"sid": secret, "csrf": secrets.token_urlsafe(24)})


def client_address(request: Request) -> str:
    """Who is connecting: the peer's address (the server takes X-Forwarded-For only from trusted proxies)."""
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The login page: the password form (when VF_WEB_PASSWORD is set) and how to get a link."""
    has_password = services_of(request).settings.web_password is not None
    return page(request, "login.html", {"has_password": has_password, "csrf": csrf_of(request), "message": ""})


@router.post("/login")
async def login_with_password(request: Request) -> Response:
    """VF_WEB_PASSWORD logs in as an admin; checks are limited per address and overall."""
    form = await checked_form(request)
    services, address = services_of(request), client_address(request)
    expected = services.settings.web_password
    if expected is None:
        return _login_refused(request, "Password login is off: ask the bot for /dashboard to get a link.")
    wait = services.throttle.admit(address)
    if wait:
        log.warning("password login from %s refused: too many tries; the next in %d s", address, wait)
        answer = _login_refused(request, f"Too many tries: wait {wait} seconds and try again.", status=429)
        answer.headers["Retry-After"] = str(wait)
        return answer
    given = str(form.get("password") or "")
    if not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
        services.throttle.failed(address)
        log.warning("a wrong password from %s", address)
        await asyncio.sleep(WRONG_PASSWORD_PAUSE)
        return _login_refused(request, "That password is not right.")
    services.throttle.succeeded(address)
    await asyncio.to_thread(_start_session, request, Visitor(None, True))
    return RedirectResponse("/", status_code=303)


def _login_refused(request: Request, message: str, status: int = 403) -> Response:
    has_password = services_of(request).settings.web_password is not None
    return page(request, "login.html", {"has_password": has_password, "csrf": csrf_of(request), "message": message},
                status=status)


@router.get("/login/{secret}")
def login_with_link(request: Request, secret: str) -> Response:
    """A one-time link from the bot's /dashboard: good once, for a few minutes."""
    services = services_of(request)
    visitor = services.logins.redeem(secret)
    if visitor is None or not services.sessions.access.permits_user(visitor.user_id):
        return _login_refused(request, "This login link was used already or has expired: "
                                       "send /dashboard to the bot for a new one.")
    _start_session(request, visitor)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session, on the server too: its cookie no longer works anywhere."""
    await checked_form(request)
    secret = request.session.get("sid")
    if isinstance(secret, str):
        await asyncio.to_thread(services_of(request).sessions.end, secret)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
