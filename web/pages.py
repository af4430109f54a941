"""Rendering pages: the templates, and the services every page reads from the application."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

if TYPE_CHECKING:
    from web.services import WebServices

TEMPLATES_DIR = Path(__file__).with_name("templates")


def make_templates() -> Jinja2Templates:
    """The page templates (server-rendered HTML; autoescaped)."""
    return Jinja2Templates(directory=str(TEMPLATES_DIR))


def services_of(request: Request) -> WebServices:
    """The services the application was built with."""
    return request.app.state.services


def page(request: Request, template: str, context: dict[str, object], status: int = 200) -> HTMLResponse:
    """A rendered page; every page knows who is looking (if anyone) and the session's CSRF token."""
    seen = getattr(request.state, "viewer", None)  # set by web.auth.viewer on pages that need a login
    shared = {"signed_in": seen is not None, "is_admin": bool(seen and seen.admin),
              "csrf": request.session.get("csrf", "")}
    return request.app.state.templates.TemplateResponse(request, template, shared | context, status_code=status)
