"""/stats in the chat: a few lines and a chart; and a daily message at the time each chat chose."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import datetime, time, timezone
from pathlib import Path

from telegram import Bot, Update

from bot.access import is_admin
from bot.delivery import safely, with_retries
from bot.redact import for_chat
from bot.making import chat_defaults
from bot.schedule import daily_times
from bot.services import FactoryContext, Services, off_loop
from engine.stats import gather, stats_chart, stats_text
from engine.tables import ChatSettings

DEFAULT_DAYS = 7
USAGE = "⚠️ /stats, /stats 30 (days, 1-365), or /stats daily 09:00"


def daily_due(at: str, sent_on, now_local: datetime) -> bool:  # noqa: ANN001 - a date or None
    """Whether a daily message set for `at` ("HH:MM") is due now and not yet sent today."""
    hour, minute = (int(part) for part in at.split(":"))
    return now_local.time() >= time(hour, minute) and sent_on != now_local.date()


async def send_stats(services: Services, bot: Bot, chat: int, days: int, errors: bool = False) -> None:
    """The statistics of the last `days` days as text, and a chart when there is anything to draw.

    Failures are counted for everyone; their own words (which may name other chats' files) only with `errors`.
    """
    now = datetime.now(timezone.utc)
    figures = await asyncio.to_thread(gather, services.store, days, now, services.settings.hf_budget_usd)
    text = for_chat(stats_text(figures, errors))
    await with_retries(lambda: bot.send_message(chat, text))
    if figures.quiet:
        return
    with tempfile.TemporaryDirectory() as folder:
        chart = await asyncio.to_thread(stats_chart, figures, Path(folder) / "stats.png")
        picture = chart.read_bytes()
    await with_retries(lambda: bot.send_photo(chat, picture, caption=f"The last {days} days"))


async def send_daily(services: Services, bot: Bot, chat: int, now: datetime | None = None) -> None:
    """A chat's daily statistics, unless already sent today."""
    local = (now or datetime.now(timezone.utc)).astimezone(services.schedule.zone)
    row = await off_loop(services.store.get, ChatSettings, chat)
    if row is None or row.stats_time is None or not daily_due(row.stats_time, row.stats_sent_on, local):
        return
    row.stats_sent_on = local.date()  # booked first: a failure is not retried every minute all day
    await off_loop(services.store.add, row)
    await safely(send_stats(services, bot, chat, 1, errors=services.access.is_admin(chat)))


async def send_missed(services: Services, bot: Bot, now: datetime | None = None) -> None:
    """Every chat's daily message whose time has come today and that was not sent (the bot was down)."""
    for chat, _ in await off_loop(daily_times, services.store):
        await send_daily(services, bot, chat, now)


async def on_stats(update: Update, context: FactoryContext) -> None:
    """/stats [days]; /stats daily HH:MM (or off) sets the daily message."""
    args = context.args or []
    if args and args[0] == "daily":
        await set_daily(update, context, args[1] if len(args) > 1 else "")
        return
    if args and (not args[0].isdigit() or not 1 <= int(args[0]) <= 365):
        await update.effective_message.reply_text(USAGE)
        return
    await send_stats(context.services, context.bot, update.effective_chat.id, int(args[0]) if args else DEFAULT_DAYS,
                     errors=is_admin(update, context))


async def set_daily(update: Update, context: FactoryContext, choice: str) -> None:
    """Keep the chat's daily time (or none) and arm the scheduler for it."""
    services, chat = context.services, update.effective_chat.id
    mine = await chat_defaults(context, chat)
    if choice == "off":
        mine.stats_time = None
        reply = "No more daily statistics."
    elif re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", choice):
        hour, minute = choice.split(":")
        mine.stats_time = f"{int(hour):02d}:{minute}"
        reply = f"Every day at {mine.stats_time} ({services.schedule.zone.key}) you get the statistics."
    else:
        await update.effective_message.reply_text("⚠️ Give a time such as /stats daily 09:00 (or /stats daily off).")
        return
    await off_loop(services.store.add, mine)
    services.schedule.arm_daily(chat, mine.stats_time)
    await update.effective_message.reply_text(reply)
