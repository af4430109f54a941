"""Review of a video's pictures from the chat, before the render: the contact sheet, "🔁 N" and "✅ Render".

A job whose chat reviews its pictures (`/settings review on`, or the preset's `images.review`) pauses
with a contact sheet. "🔁 N" gives shot N its next candidate: the job runs again from the cache and a
new sheet comes. "✅ Render" lets it go on to the video.
"""

from __future__ import annotations

from pathlib import Path

from telegram import Bot, Update

from bot.access import pressed_job
from bot.delivery import with_retries
from bot.keyboards import review_keyboard
from bot.redact import for_chat
from bot.services import FactoryContext, off_loop
from engine.errors import VideoFactoryError
from engine.jobs import JobState, request_of
from engine.review import AWAITING_REVIEW, ShotReview, read_review, replaced
from engine.tables import Job

CAPTION_LIMIT = 1024  # Telegram's limit on a photo's caption


def review_caption(topic: str, review: ShotReview) -> str:
    """The sheet's caption: what to do, then a line per shot, cut to Telegram's limit."""
    head = (f"🖼 The pictures for «{topic}». Tap 🔁 N to give shot N its next picture, or ✅ Render.\n")
    lines, kept = [line.strip() for line in review.lines], []
    for line in lines:
        if len(head) + sum(len(k) + 1 for k in kept) + len(line) + 1 > CAPTION_LIMIT - 20:
            kept.append(f"… and {len(lines) - len(kept)} more")
            break
        kept.append(line)
    return head + "\n".join(kept)


async def send_review(bot: Bot, job: Job) -> None:
    """The contact sheet of a job paused for its review, with its buttons."""
    review, _ = read_review(Path(job.folder))
    await with_retries(lambda: bot.send_photo(
        int(job.chat_id), review.sheet.read_bytes(), caption=review_caption(job.topic, review),  # type: ignore[arg-type]
        reply_markup=review_keyboard(int(job.id), review.replaceable)))  # type: ignore[arg-type]


async def on_review(update: Update, context: FactoryContext) -> None:
    """"🔁 N" or "✅ Render" under a contact sheet: the job's request changed, and the job goes on."""
    query, services = update.callback_query, context.services
    if (job := await pressed_job(update, context)) is None:
        return
    if job.state != JobState.PAUSED or job.error != AWAITING_REVIEW:
        await query.answer("This review is over.")
        return
    choice = query.data.split(":")[2]
    try:
        if choice == "ok":
            request = request_of(job).model_copy(update={"reviewed": True})
        else:
            _, urls = read_review(Path(job.folder))
            request = replaced(request_of(job), urls, [int(choice)])
        await off_loop(services.jobs.revise, int(job.id), request)  # type: ignore[arg-type]
        await off_loop(services.runner.resume, int(job.id), "review")  # type: ignore[arg-type]
    except VideoFactoryError as error:
        await query.answer(for_chat(error)[:190], show_alert=True)
        return
    await query.answer("Rendering" if choice == "ok" else f"Shot {choice}: finding its next picture")
    await query.edit_message_reply_markup(None)  # these buttons are spent: a new sheet, or the video, follows
