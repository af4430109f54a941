"""The bot's one scheduler (APScheduler): the A/B tests' check, each chat's daily statistics, the channels'
calendar (every few minutes) and the check of their authorisations (daily).

What is scheduled lives in the database (running A/B tests; each chat's daily time), so the schedule is
simply armed again from it at every start, and what fell due while the bot was down is done at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, col, select

from engine.config import Settings
from engine.errors import ConfigError
from engine.store import Store
from engine.tables import ChatSettings

ABTESTS = "abtests"
PLANNER = "planner"
CREDENTIALS = "credentials"


def zone_of(settings: Settings) -> ZoneInfo:
    """The time zone daily messages keep (VF_TIMEZONE)."""
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"VF_TIMEZONE: '{settings.timezone}' is not a time zone such as UTC or Europe/Berlin") from None


def daily_job(chat: int) -> str:
    """The scheduler's name for a chat's daily message."""
    return f"daily-stats:{chat}"


def daily_times(store: Store) -> list[tuple[int, str]]:
    """Each chat that asked for a daily message, with its time ("HH:MM")."""
    with Session(store.engine) as session:
        rows = session.exec(select(ChatSettings).where(col(ChatSettings.stats_time).is_not(None)))
        return [(row.chat_id, str(row.stats_time)) for row in rows]


class Schedule:
    """The scheduler and what it runs; `start` arms it from the database."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self.zone = zone_of(settings)
        self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self.daily: Callable[[int], Awaitable[None]] | None = None

    def start(self, check_tests: Callable[[], Awaitable[None]], daily: Callable[[int], Awaitable[None]],
              catch_up: Callable[[], Awaitable[None]], plan_tick: Callable[[], Awaitable[None]] | None = None,
              credentials: Callable[[], Awaitable[None]] | None = None) -> None:
        """Arm the A/B check, the calendar, the credentials' check and every chat's daily message; run at once what
        was missed while down (the calendar and the check too: what fell due meanwhile is done now)."""
        now = datetime.now(timezone.utc)
        self.daily = daily
        self.scheduler.add_job(check_tests, "interval", minutes=self.settings.abtest_check_minutes, id=ABTESTS,
                               next_run_time=now, max_instances=1, coalesce=True)
        if plan_tick is not None:
            self.scheduler.add_job(plan_tick, "interval", minutes=self.settings.plan_check_minutes, id=PLANNER,
                                   next_run_time=now, max_instances=1, coalesce=True)
        if credentials is not None:
            self.scheduler.add_job(credentials, "interval", hours=24, id=CREDENTIALS, next_run_time=now,
                                   max_instances=1, coalesce=True)
        self.scheduler.add_job(catch_up, "date", run_date=now, id="catch-up")
        for chat, at in daily_times(self.store):
            self.arm_daily(chat, at)
        self.scheduler.start()

    def arm_daily(self, chat: int, at: str | None) -> None:
        """Send a chat its statistics every day at "HH:MM" local time (None: no more)."""
        if self.daily is None:
            return  # not started: `start` arms it from the database
        if at is None:
            if self.scheduler.get_job(daily_job(chat)) is not None:
                self.scheduler.remove_job(daily_job(chat))
            return
        hour, minute = (int(part) for part in at.split(":"))
        self.scheduler.add_job(self.daily, CronTrigger(hour=hour, minute=minute, timezone=self.zone), args=[chat],
                               id=daily_job(chat), replace_existing=True, misfire_grace_time=3600, coalesce=True)

    def stop(self) -> None:
        """Stop the scheduler (nothing is lost: it is armed from the database at the next start)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
