"""Publishing from the chat: the Publish buttons, the thumbnail A/B tests, and their schedule.

A/B tests live in the database (engine.abtest); the bot's scheduler (bot.app) runs `tick` every
few minutes, from its start on, so a report or a switch that fell due while it was down happens
on start; the work runs in a thread and the reports come back to the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path

from bot.delivery import safely, with_retries
from bot.jobs import BotJob, JobRunner
from engine.abtest import (
    ABTester,  # at import: its tables must exist before the bot opens the database
)
from engine.config import Settings
from engine.errors import VideoFactoryError

log = logging.getLogger(__name__)

PRIVACY_BUTTONS = (("🔒 Private", "private"), ("🔗 Unlisted", "unlisted"), ("🌍 Public + A/B test", "public"))


def publish_keyboard(job_id: int):
    """The privacy choice, one button each."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=f"pub:{job_id}:{privacy}")
                                  for text, privacy in PRIVACY_BUTTONS]])


def add_publishing(
    app, settings: Settings, runner: JobRunner, permitted: Callable[..., Awaitable[bool]],
    owned_job: Callable[..., Awaitable[BotJob | None]], is_admin: Callable[..., bool], youtube: Callable[[], object],
) -> None:
    """Register the Publish buttons, /abtest, and the A/B schedule on the application."""
    from telegram import Update
    from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

    from engine.publish import publish

    tester = ABTester(runner.store, youtube, settings.abtest_min_impressions, settings.abtest_min_views)
    app.bot_data["abtester"] = tester

    async def on_publish(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update) or (job := await owned_job(update)) is None:
            return
        privacy = query.data.split(":")[2]
        if job.state != "done" or not job.folder:
            await query.answer("The video is still being finished; publish it in a moment.", show_alert=True)
            return
        await query.answer("Uploading…")
        loop = asyncio.get_running_loop()
        chat, message_id = update.effective_chat.id, query.message.message_id
        shown = [-math.inf]

        def progress(share: float) -> None:  # from the upload thread; an edit every 5 s at most
            if time.monotonic() - shown[0] >= 5 or share >= 1:
                shown[0] = time.monotonic()
                edit = context.bot.edit_message_text(f"⬆️ Uploading to YouTube: {share:.0%}", chat_id=chat,
                                                     message_id=message_id)
                asyncio.run_coroutine_threadsafe(safely(edit), loop)

        await safely(query.edit_message_text("⬆️ Uploading to YouTube…"))
        try:  # connecting may refresh the authorisation over the network: in the thread too
            done = await asyncio.to_thread(
                lambda: publish(Path(job.folder), settings, youtube(), privacy, None, progress))  # type: ignore[arg-type]
        except VideoFactoryError as error:
            problem = f"⚠️ Not published: {error}"
            await safely(with_retries(lambda: context.bot.send_message(chat, problem)))
            return
        text = f"✅ On YouTube ({done.privacy}): {done.url}" + (" with captions" if done.captions_id else "")
        if privacy == "public":
            try:
                test = await asyncio.to_thread(
                    tester.start, done.video_id, Path(job.folder), chat, datetime.now(timezone.utc),
                    settings.abtest_slot_hours, settings.abtest_max_days, settings.abtest_adaptive)
                text += (f"\n🧪 A/B test #{test.id} started: the three thumbnails take turns "
                         f"({settings.abtest_slot_hours:g} h each); a report comes in 24 hours. /abtest shows it.")
            except VideoFactoryError as error:
                text += f"\n⚠️ The A/B test could not start: {error}"
        await safely(with_retries(lambda: context.bot.send_message(chat, text)))

    async def on_abtest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        chat = update.effective_chat.id
        now = datetime.now(timezone.utc)
        args = context.args or []
        try:
            if args and args[0] in ("stop", "pick"):
                if len(args) < (3 if args[0] == "pick" else 2):
                    raise VideoFactoryError("use /abtest stop N, or /abtest pick N THUMBNAIL")
                test = tester.test(int(args[1].lstrip("#")))
                if test.chat_id != chat and not is_admin(update):
                    raise VideoFactoryError(f"A/B test {test.id} is not yours")
                if test.state != "running":
                    raise VideoFactoryError(f"A/B test {test.id} is already {test.state}")
                notice = await asyncio.to_thread(tester.stop, test, now) if args[0] == "stop" else \
                    await asyncio.to_thread(tester.finish, test, int(args[2]), now, "hand")
                await update.effective_message.reply_text(notice.text)
                return
            tests = tester.tests(None if is_admin(update) else chat)[:5]
            if not tests:
                await update.effective_message.reply_text("No A/B tests yet: tap 🌍 Public under a finished video.")
                return
            reports = [await asyncio.to_thread(tester.report, test, now, test.state) for test in tests]
            await update.effective_message.reply_text("\n\n".join(reports)[:4000])
        except ValueError:
            await update.effective_message.reply_text("⚠️ Test and thumbnail are numbers: /abtest pick 3 2")
        except VideoFactoryError as error:
            await update.effective_message.reply_text(f"⚠️ {error}")

    async def tick(now: datetime | None = None) -> None:
        """Move every running test on, in a thread, and send what it has to say."""
        notices = await asyncio.to_thread(tester.tick, now or datetime.now(timezone.utc))
        for notice in notices:
            if notice.chat_id is not None:
                await safely(with_retries(lambda notice=notice: app.bot.send_message(notice.chat_id, notice.text)))
            else:
                log.info("%s", notice.text)

    app.bot_data["abtest_tick"] = tick
    app.add_handler(CallbackQueryHandler(on_publish, pattern=r"^pub:\d+:(private|unlisted|public)$"))
    app.add_handler(CommandHandler("abtest", on_abtest))
