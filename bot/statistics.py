"""/stats in the chat: a few lines and a chart; and a daily message at the time each chat chose."""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from bot.delivery import safely, with_retries
from bot.jobs import ChatSettings, JobRunner
from engine.config import Settings
from engine.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7


def zone_of(settings: Settings) -> ZoneInfo:
    """The time zone daily messages keep (VF_TIMEZONE)."""
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"VF_TIMEZONE: '{settings.timezone}' is not a time zone such as UTC or Europe/Berlin") from None


def daily_due(at: str, sent_on, now_local: datetime) -> bool:
    """Whether a daily message set for `at` ("HH:MM") is due now and not yet sent today."""
    hour, minute = (int(part) for part in at.split(":"))
    return now_local.time() >= time(hour, minute) and sent_on != now_local.date()


def add_statistics(app, settings: Settings, runner: JobRunner, permitted: Callable[..., Awaitable[bool]]) -> None:
    """Register /stats and the daily message's tick on the application."""
    from telegram import Update
    from telegram.ext import CommandHandler, ContextTypes

    from engine.stats import gather, stats_chart, stats_text

    zone = zone_of(settings)

    async def send_stats(chat: int, days: int) -> None:
        figures = await asyncio.to_thread(gather, runner.store, days, datetime.now(timezone.utc), settings.hf_budget_usd)
        text = stats_text(figures)
        await with_retries(lambda: app.bot.send_message(chat, text))
        if figures.empty:
            return
        with tempfile.TemporaryDirectory() as folder:
            chart = await asyncio.to_thread(stats_chart, figures, Path(folder) / "stats.png")
            picture = chart.read_bytes()
        await with_retries(lambda: app.bot.send_photo(chat, picture, caption=f"The last {days} days"))

    async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        chat = update.effective_chat.id
        args = context.args or []
        if args and args[0] == "daily":
            mine = runner.settings_of(chat)
            choice = args[1] if len(args) > 1 else ""
            if choice == "off":
                mine.stats_time = None
                runner.store.add(mine)
                await update.effective_message.reply_text("No more daily statistics.")
                return
            if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", choice):
                await update.effective_message.reply_text("⚠️ Give a time such as /stats daily 09:00 (or /stats daily off).")
                return
            mine.stats_time = f"{int(choice.split(':')[0]):02d}:{choice.split(':')[1]}"
            runner.store.add(mine)
            await update.effective_message.reply_text(f"Every day at {mine.stats_time} ({zone.key}) you get the statistics.")
            return
        days = DEFAULT_DAYS
        if args:
            if not args[0].isdigit() or not 1 <= int(args[0]) <= 365:
                await update.effective_message.reply_text("⚠️ /stats, /stats 30 (days, 1-365), or /stats daily 09:00")
                return
            days = int(args[0])
        await send_stats(chat, days)

    async def daily_tick(now: datetime | None = None) -> None:
        """Send each chat its daily statistics once its time has come today (late ones on start)."""
        local = (now or datetime.now(timezone.utc)).astimezone(zone)
        with Session(runner.store.engine) as session:
            rows = list(session.exec(select(ChatSettings).where(ChatSettings.stats_time != None)))
        for row in rows:
            if not daily_due(row.stats_time, row.stats_sent_on, local):  # type: ignore[arg-type]
                continue
            row.stats_sent_on = local.date()  # booked first: a failure is not retried every minute all day
            runner.store.add(row)
            await safely(send_stats(row.chat_id, 1))

    app.bot_data["stats_tick"] = daily_tick
    app.add_handler(CommandHandler("stats", on_stats))
