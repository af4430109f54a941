"""A chat's jobs: /status (what runs now), /jobs (the latest), /cancel (stop them)."""

from __future__ import annotations

from telegram import Update

from bot.access import is_admin
from bot.services import FactoryContext, off_loop
from engine.jobs import ACTIVE, JobState
from engine.tables import Job


def doing(job: Job) -> str:
    """What a running job does, in a few words."""
    if job.state != JobState.RUNNING or not job.stage:
        return f"«{job.topic}» ({job.state})"
    return f"«{job.topic}»: {job.stage} ({job.stage_done:g}/{job.stage_total:g} {job.stage_unit})"


def status_text(mine: list[Job], everyone: list[Job] | None, queue_length: int) -> str:
    """The chat's running and queued jobs; for an admin, every chat's too."""
    running = [job for job in mine if job.state == JobState.RUNNING]
    waiting = [job for job in mine if job.state in (JobState.QUEUED, JobState.PAUSED)]
    text = f"Working on it: {'; '.join(doing(job) for job in running)}." if running else "Nothing is running for you right now."
    if waiting:
        text += f" {len(waiting)} more queued or paused; {queue_length} job(s) in the whole queue."
    if everyone is not None:
        text += "\n\nEvery chat:\n" + ("\n".join(
            f"#{job.id} chat {job.chat_id}: {job.topic} ({job.state})" for job in everyone) or "the queue is empty")
    return text


async def on_status(update: Update, context: FactoryContext) -> None:
    """/status: what runs for this chat now (and, for an admin, for everyone)."""
    services, chat = context.services, update.effective_chat.id
    mine = await off_loop(services.jobs.find, states=ACTIVE, chat_id=chat)
    everyone = await off_loop(services.jobs.find, states=ACTIVE, origin="telegram") if is_admin(update, context) else None
    await update.effective_message.reply_text(status_text(mine, everyone, services.runner.queue_length()))


async def on_jobs(update: Update, context: FactoryContext) -> None:
    """/jobs: this chat's latest videos and how they stand."""
    rows = await off_loop(context.services.jobs.find, chat_id=update.effective_chat.id, limit=10, newest_first=True)
    lines = [f"#{job.id} {job.topic}: {job.state}" for job in rows]
    await update.effective_message.reply_text("\n".join(lines) or "No videos yet: send me a topic.")


async def on_cancel(update: Update, context: FactoryContext) -> None:
    """/cancel [N]: stop this chat's jobs, or job N (any chat's, for an admin); finished parts stay cached."""
    services, chat = context.services, update.effective_chat.id
    if context.args:
        number = context.args[0].lstrip("#")
        job = await off_loop(services.jobs.get, int(number)) if number.isdigit() else None
        if job is None or (job.chat_id != chat and not is_admin(update, context)):
            await update.effective_message.reply_text(f"There is no job {context.args[0]} of yours.")
            return
        active = [job] if job.state in ACTIVE else []
    else:
        active = await off_loop(services.jobs.find, states=ACTIVE, chat_id=chat)
    stopped = [job for job in active if await off_loop(services.runner.cancel, int(job.id))]
    await update.effective_message.reply_text(
        f"Stopping {len(stopped)} job(s); finished parts stay cached." if stopped else "Nothing to cancel.")
