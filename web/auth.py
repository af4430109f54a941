"""Logging in and who is looking: one-time links from the bot, the admin password, sessions and CSRF tokens."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web.pages import page, services_of

router = APIRouter()
WRONG_PASSWORD_PAUSE = 1.0  # seconds: guessing the password is slow


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
    """The logged-in visitor (a FastAPI dependency); LoginNeeded without a session."""
    if not request.session.get("in"):
        raise LoginNeeded
    return Viewer(request.session.get("user"), bool(request.session.get("admin")), csrf_of(request))


def admin(request: Request) -> Viewer:
    """The logged-in visitor, who must be an admin."""
    seen = viewer(request)
    if not seen.admin:
        raise Forbidden("only the factory's admins see this page")
    return seen


async def checked_form(request: Request) -> dict[str, object]:
    """A posted form whose CSRF token matches the session's; Forbidden otherwise."""
    form = await request.form()
    sent = str(form.get("csrf") or "")
    if not sent or not secrets.compare_digest(sent, csrf_of(request)):
        raise Forbidden("the form was out of date or not sent from this site: reload the page and try again")
    return dict(form)


def _start_session(request: Request, user_id: int | None, is_admin: bool) -> None:
    request.session.clear()
    request.session.update({"in": True, "user": user_id, "admin": is_admin, "csrf": secrets.token_urlsafe(24)})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The login page: the password form (when VF_WEB_PASSWORD is set) and how to get a link."""
    has_password = services_of(request).settings.web_password is not None
    return page(request, "login.html", {"has_password": has_password, "csrf": csrf_of(request), "message": ""})


@router.post("/login")
async def login_with_password(request: Request) -> Response:
    """VF_WEB_PASSWORD logs in as an admin."""
    form = await checked_form(request)
    expected = services_of(request).settings.web_password
    given = str(form.get("password") or "")
    if expected is None or not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
        await asyncio.sleep(WRONG_PASSWORD_PAUSE)
        return page(request, "login.html", {"has_password": expected is not None, "csrf": csrf_of(request),
                                            "message": "That password is not right."}, status=403)
    _start_session(request, None, True)
    return RedirectResponse("/", status_code=303)


@router.get("/login/{secret}")
def login_with_link(request: Request, secret: str) -> Response:
    """A one-time link from the bot's /dashboard: good once, for a few minutes."""
    visitor = services_of(request).logins.redeem(secret)
    if visitor is None:
        message = "This login link was used already or has expired: send /dashboard to the bot for a new one."
        return page(request, "login.html", {"has_password": services_of(request).settings.web_password is not None,
                                            "csrf": csrf_of(request), "message": message}, status=403)
    _start_session(request, visitor.user_id, visitor.admin)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
