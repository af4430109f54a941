"""The thumbnail buttons under a job's album: approve one, or design three new ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telegram import Update

from bot.access import pressed_job
from bot.delivery import MaybeDelivered, send_thumbnails
from bot.keyboards import publish_keyboard
from bot.redact import for_chat
from bot.services import FactoryContext, off_loop
from engine.errors import VideoFactoryError
from engine.jobs import JobState
from engine.thumbnail_choice import approve_thumbnail, remake_thumbnails


async def on_approve(update: Update, context: FactoryContext) -> None:
    """"Use N": the video's thumbnail; once the video is done, offer to publish it."""
    query = update.callback_query
    if (job := await pressed_job(update, context)) is None:
        return
    number = int(query.data.split(":")[2])
    await off_loop(context.services.jobs.approve, int(job.id), number)  # kept even if the video is still being finished
    if job.state == JobState.DONE:
        try:
            await asyncio.to_thread(approve_thumbnail, Path(job.folder), number)
        except VideoFactoryError as error:
            await query.answer(for_chat(error)[:190], show_alert=True)
            return
    await query.answer(f"Thumbnail {number} chosen")
    if context.services.publish_ready():
        await query.edit_message_text(f"Thumbnail {number} is the one. ✅ Publish on YouTube?",
                                      reply_markup=publish_keyboard(int(job.id)))
    else:
        await query.edit_message_text(f"Thumbnail {number} is the one. ✅ (To publish from here, run "
                                      "`videofactory youtube auth` once on the bot's machine.)")


async def on_redesign(update: Update, context: FactoryContext) -> None:
    """"New designs": three new thumbnails from other pictures of the finished video."""
    query = update.callback_query
    if (job := await pressed_job(update, context)) is None:
        return
    if job.state != JobState.DONE:
        await query.answer("The video is still being finished; ask again in a moment.", show_alert=True)
        return
    await query.answer("Designing new thumbnails…")
    await query.edit_message_text("🔄 Designing three new thumbnails…")
    try:
        made = await asyncio.to_thread(remake_thumbnails, Path(job.folder), context.services.settings)
    except VideoFactoryError as error:
        await query.edit_message_text(f"⚠️ {for_chat(error)}")
        return
    try:
        await send_thumbnails(context.bot, int(job.chat_id), int(job.id), made)
    except MaybeDelivered:
        pass  # the album timed out and may still arrive; its buttons came all the same
