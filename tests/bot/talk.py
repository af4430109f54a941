"""Driving the real Application in tests: feed it updates, wait until its jobs have ended and been told."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from telegram import Update

from engine.tables import Job


async def feed(app, *updates: dict) -> None:
    """Process updates one after another, as Telegram would deliver them."""
    for data in updates:
        await app.process_update(Update.de_json(data, app.bot))


async def until(condition: Callable[[], object], seconds: float = 300) -> None:
    """Wait (letting the loop run) until `condition()` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def jobs_of(app, chat: int | None = None) -> list[Job]:
    """A chat's jobs (every chat's for None), oldest first."""
    return app.services.jobs.find(chat_id=chat)


def all_told(app, chat: int | None = None) -> bool:
    """Every job of the chat has ended (or paused) and everything about it has been said in the chat."""
    return app.notifier.settled([int(job.id) for job in jobs_of(app, chat)])
