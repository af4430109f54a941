"""The Publish buttons: upload a finished video to YouTube, and start its thumbnail A/B test when public."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timezone
from pathlib import Path

from telegram import Update

from bot.access import pressed_job
from bot.delivery import safely, say
from bot.redact import for_chat
from bot.services import FactoryContext
from engine import abpower
from engine.errors import VideoFactoryError
from engine.jobs import JobState
from engine.publish import Published, publish, publish_channel
from engine.thumbnail_choice import approved_design
from engine.youtube import PRIVATE_LOCK

UPLOAD_EDIT_EVERY = 5.0  # seconds between edits of the upload's progress


def published_text(done: Published) -> str:
    """Where the video went."""
    return (f"✅ On YouTube ({done.privacy}): {done.url}" + (" with captions" if done.captions_id else "")
            + "".join(f"\n⚠️ {for_chat(problem)}" for problem in done.problems))


async def on_publish(update: Update, context: FactoryContext) -> None:
    """"Private", "Unlisted" or "Public + A/B test": upload the job's video, its progress edited in."""
    query, services = update.callback_query, context.services
    if (job := await pressed_job(update, context)) is None:
        return
    privacy = query.data.split(":")[2]
    if job.state != JobState.DONE:
        await query.answer("The video is still being finished; publish it in a moment.", show_alert=True)
        return
    await query.answer("Uploading…")
    loop, chat, message_id = asyncio.get_running_loop(), update.effective_chat.id, query.message.message_id
    shown = [-math.inf]

    def progress(share: float) -> None:  # from the upload thread
        if time.monotonic() - shown[0] >= UPLOAD_EDIT_EVERY or share >= 1:
            shown[0] = time.monotonic()
            edit = context.bot.edit_message_text(f"⬆️ Uploading to YouTube: {share:.0%}", chat_id=chat,
                                                 message_id=message_id)
            asyncio.run_coroutine_threadsafe(safely(edit), loop)

    await safely(query.edit_message_text("⬆️ Uploading to YouTube…"))
    folder = Path(job.folder)

    def upload() -> Published:  # connecting may refresh the authorisation over the network: in the thread too
        channel = publish_channel(folder, services.settings)  # the preset's channel, else the one authorisation
        youtube = services.planner.youtube(channel) if channel else services.youtube()
        return publish(folder, services.settings, youtube, privacy, None, progress)

    try:
        done = await asyncio.to_thread(upload)
    except VideoFactoryError as error:
        await say(context.bot, chat, f"⚠️ Not published: {for_chat(error)}")
        return
    text = published_text(done)
    if privacy == "public":
        text += "\n" + await start_test(context, done, folder, chat)
    elif done.locked_private:
        text += f"\n⚠️ {PRIVATE_LOCK}."
    await say(context.bot, chat, text)


async def start_test(context: FactoryContext, done: Published, folder: Path, chat: int) -> str:
    """Start the thumbnail A/B test on a public video; what to tell the chat."""
    if done.locked_private:
        return f"⚠️ No A/B test: {PRIVATE_LOCK}."
    now = datetime.now(timezone.utc)
    try:
        tester = context.services.testers.of(await asyncio.to_thread(publish_channel, folder, context.services.settings))
        test = await asyncio.to_thread(tester.start_thumbnails, done.video_id, folder, chat, now, now,
                                       approved_design(folder))
    except VideoFactoryError as error:
        return f"⚠️ The A/B test could not start: {for_chat(error)}"
    power = await asyncio.to_thread(tester.power)
    return (f"🧪 A/B test #{test.id} started: from {test.first_day:%a %-d %b} each thumbnail has whole days in turn, "
            f"{test.max_cycles} rounds at most. A first report comes in 24 hours; /abtest shows the schedule "
            f"and /abtest stop {test.id} ends it.\n{abpower.told(power)}")
