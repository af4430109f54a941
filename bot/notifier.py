"""The runner's events about a chat's jobs, told in that chat: queue place, progress, files, pauses, the end.

Events arrive from worker threads; each becomes a coroutine in the bot's loop, chained after the previous
one of the same job, so a job's messages keep their order and one slow upload never blocks another job.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from telegram import Bot

from bot.delivery import MaybeDelivered, safely, say, send_thumbnails, send_video, with_retries
from bot.redact import for_chat, in_output
from bot.review import send_review
from bot.services import Services, off_loop
from engine.web_logins import download_link, web_secret
from engine.jobs import Cancelled, Done, Failed, Paused
from engine.review import AWAITING_REVIEW
from engine.runner import FilesReady, JobEnded, JobEvent, JobProgressed, JobQueued, JobResumed
from engine.tables import Job
from engine.thumbnail_choice import approve_thumbnail

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between edits of a progress message: well inside Telegram's limits
CANCELLED = "Cancelled; what was finished is kept, so asking again is quicker."


def label_of(job: Job) -> str:
    """How a job is named in its chat."""
    return f"«{job.topic}» with {job.preset}"


def progress_text(event: JobProgressed) -> str:
    """A stage's progress in one line: share done, time left in the step, time so far."""
    share = min(1.0, event.done / event.total) if event.total else 1.0
    left = f", about {event.eta:.0f} s left in this step" if event.eta is not None and 0 < share < 1 else ""
    return (f"⏳ {event.stage}: {event.done:g}/{event.total:g} {event.unit} ({share:.0%}){left}; "
            f"{event.elapsed:.0f} s so far")


def resume_time(moment: datetime | None) -> str:
    """When a paused job goes on, in words."""
    return f"at {moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "when the bot starts again"


class Throttle:
    """At most one message per key every `every` seconds."""

    def __init__(self, every: float = PROGRESS_EVERY) -> None:
        self.every = every
        self.lock = threading.Lock()
        self.shown: dict[int, float] = {}

    def due(self, key: int) -> bool:
        """Whether a message for `key` may go now (and if so, it counts as shown)."""
        now = time.monotonic()
        with self.lock:
            # -inf, not 0: monotonic time starts near 0 at boot, and the first message must go
            if now - self.shown.get(key, -math.inf) < self.every:
                return False
            self.shown[key] = now
        return True


class ChatNotifier:
    """Turns the runner's events about Telegram jobs into messages in their chats."""

    def __init__(self, services: Services, bot: Bot, loop: Callable[[], asyncio.AbstractEventLoop]) -> None:
        self.services, self.bot, self.loop = services, bot, loop
        self.lock = threading.Lock()
        self.chains: dict[int, concurrent.futures.Future] = {}
        self.progress = Throttle()
        self.ended: set[int] = set()  # jobs whose last news was the end of a run

    def __call__(self, event: JobEvent) -> None:
        """One event, from a worker thread: queued as a coroutine in the loop, in the job's order."""
        job = self.services.jobs.get(event.job_id)
        if job is None or job.origin != "telegram" or job.chat_id is None:
            return
        with self.lock:
            if isinstance(event, JobEnded):
                self.ended.add(event.job_id)
            else:
                self.ended.discard(event.job_id)
        if isinstance(event, JobProgressed) and not self.progress.due(event.job_id):
            return
        self._then(event.job_id, lambda: tell(self.services, self.bot, event))

    def _then(self, job_id: int, make: Callable[[], Awaitable[None]]) -> None:
        with self.lock:
            previous = self.chains.get(job_id)

            async def step() -> None:
                if previous is not None:
                    await asyncio.wrap_future(previous)
                try:
                    await make()
                except Exception:  # one failed message must not stop the rest of the job's news
                    log.exception("telling job %s's chat failed", job_id)

            self.chains[job_id] = asyncio.run_coroutine_threadsafe(step(), self.loop())

    def settled(self, job_ids: list[int]) -> bool:
        """Whether these jobs' runs have ended and everything about them has been told in their chats."""
        with self.lock:
            return set(job_ids) <= self.ended and all(future.done() for future in self.chains.values())


async def tell(services: Services, bot: Bot, event: JobEvent) -> None:
    """Say in the job's chat what the event means."""
    job = await off_loop(services.jobs.get, event.job_id)
    if job is None:
        return
    match event:
        case JobQueued(ahead=ahead) if ahead > 0:  # at 0 it starts at once: its progress says so
            await _status(bot, job, f"{label_of(job)}\n🕒 queued: {ahead} job(s) ahead of this one")
        case JobResumed(why=why):
            await _resumed(bot, job, why)
        case JobProgressed():
            await _status(bot, job, f"{label_of(job)}\n{progress_text(event)}")
        case FilesReady(kind=kind, paths=paths):
            await deliver(services, bot, job, kind, paths)
        case JobEnded(outcome=outcome):
            await _ended(services, bot, job, outcome)


async def _status(bot: Bot, job: Job, text: str) -> None:
    """Edit the job's status message (a failed edit is not worth stopping for)."""
    if job.message_id is not None:
        await safely(with_retries(lambda: bot.edit_message_text(text, chat_id=job.chat_id, message_id=job.message_id)))


async def _resumed(bot: Bot, job: Job, why: str) -> None:
    if why == "restart":
        text = f"The bot restarted; «{job.topic}» continues from where it stopped."
    else:
        text = f"▶️ «{job.topic}» continues: a token is back, and nothing finished is made again."
    await say(bot, job.chat_id, text)  # type: ignore[arg-type]


def copies_of(services: Services, job_id: int) -> Path:
    """Where a job's videos are re-encoded to fit Telegram's upload limit."""
    return services.settings.data_dir / "bot" / "copies" / str(job_id)


def full_link(services: Services, job_id: int, name: str) -> str | None:
    """An expiring dashboard link to a file too large for Telegram, when the dashboard has a public address."""
    settings = services.settings
    if not settings.web_url:
        return None
    return download_link(web_secret(settings), settings.web_url, job_id, name)


async def deliver(services: Services, bot: Bot, job: Job, kind: str, paths: tuple[Path, ...]) -> None:
    """Send a job's files to its chat, each once: what reached the chat is booked in the job's row."""
    folder, chat, job_id = Path(job.folder), int(job.chat_id), int(job.id)  # type: ignore[arg-type]
    sent = set(job.delivered)
    if kind == "thumbnails":
        if "thumbnails" not in sent:
            try:
                await send_thumbnails(bot, chat, job_id, paths)
            except MaybeDelivered:  # booked all the same: a second album would post the thumbnails twice
                log.info("the thumbnails of job %d timed out on their way to chat %d", job_id, chat)
            await off_loop(services.jobs.delivered, job_id, "thumbnails")
        return
    cover = folder / "thumbnails" / f"{job.thumbnail or 1}.jpg"
    for path in paths:
        name = path.relative_to(folder).as_posix()
        if name in sent:
            continue  # sent before a restart
        try:
            await send_video(bot, chat, path, cover, services.settings.telegram_local_mode, copies_of(services, job_id),
                             in_output(path, services.settings.output_dir), full_link(services, job_id, name))
        except MaybeDelivered:
            await say(bot, chat, f"⚠️ The upload of {name} timed out; it may still arrive. If it does not, it "
                                  f"is {in_output(path, services.settings.output_dir)} in the output folder.")
        await off_loop(services.jobs.delivered, job_id, name)


async def _ended(services: Services, bot: Bot, job: Job, outcome: object) -> None:
    label, chat = label_of(job), int(job.chat_id)  # type: ignore[arg-type]
    match outcome:
        case Done(artefacts):
            await _status(bot, job, f"{label}: ✅ done")
            await deliver(services, bot, job, "video", (artefacts.video, *artefacts.exports))  # what was not sent early
            chosen = await off_loop(services.jobs.get, int(job.id))  # type: ignore[arg-type]
            if chosen is not None and chosen.thumbnail:  # approved while the exports were still rendering
                await asyncio.to_thread(approve_thumbnail, artefacts.folder, chosen.thumbnail)
            # The smaller copies made for Telegram's upload limit are not needed once delivered.
            shutil.rmtree(copies_of(services, int(job.id)), ignore_errors=True)  # type: ignore[arg-type]
        case Paused(reason) if reason == AWAITING_REVIEW:
            await _status(bot, job, f"{label}: 🖼 waiting for your review of its pictures")
            await send_review(bot, job)
        case Paused(reason, resume_after):
            await _status(bot, job, f"{label}: ⏸ paused")
            await say(bot, chat, f"⏸ «{job.topic}» paused: {for_chat(reason)}. It goes on by itself "
                                  f"{resume_time(resume_after)}; nothing finished is lost.")
        case Cancelled():
            await _status(bot, job, f"{label}: the video could not be made. {CANCELLED}")
        case Failed(reason):
            await _status(bot, job, f"{label}: the video could not be made. {for_chat(reason)}")
            for admin in services.access.admins - {chat}:  # admins read the whole reason, paths included
                await say(bot, admin, f"Job #{job.id} of chat {chat} failed: {reason}")
