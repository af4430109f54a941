"""Tokens (admins): each Hugging Face account's balance, measured or estimated, and its tokens by fingerprint."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from engine.token_report import stored_accounts
from web.auth import Viewer, admin
from web.pages import page, services_of

router = APIRouter()


@router.get("/tokens", response_class=HTMLResponse)
async def tokens_page(request: Request, seen: Viewer = Depends(admin)) -> Response:
    """The accounts as the last job or `videofactory tokens` found them; the page asks the hub nothing."""
    services = services_of(request)
    accounts = await asyncio.to_thread(stored_accounts, services.settings, services.store, datetime.now(timezone.utc))
    return page(request, "tokens.html", {"accounts": accounts})
