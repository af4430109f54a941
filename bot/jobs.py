"""The bot's jobs: saved before they run, run one at a time in a worker thread, reported back into the loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Field, Session, SQLModel, select

from engine.cache import translate_os_errors
from engine.config import Settings
from engine.errors import VideoFactoryError
from engine.store import Store, utcnow

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between edits of a progress message: well inside Telegram's limits


class BotJob(SQLModel, table=True):
    """A video a chat asked for, kept so a restarted bot can finish it."""

    __tablename__ = "bot_jobs"
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(index=True)
    request_json: str
    status_message_id: int | None = None
    state: str = "queued"  # queued, running, done, failed, cancelled
    created: datetime = Field(default_factory=utcnow)
    error: str | None = None
    folder: str | None = None  # the finished video's output folder
    thumbnail: int | None = None  # the thumbnail the chat approved, 1-3
    delivered: str = ""  # files already sent to the chat, one per line, so a restart never sends one twice


class ChatSettings(SQLModel, table=True):
    """A chat's own defaults, set with /settings; None means the preset's."""

    __tablename__ = "bot_chat_settings"
    chat_id: int = Field(primary_key=True)
    preset: str | None = None
    language: str | None = None
    caption_style: str | None = None
    stats_time: str | None = None  # "HH:MM" in VF_TIMEZONE: a daily /stats message
    stats_sent_on: date | None = None  # the last day it was sent


class JobCancelled(VideoFactoryError):
    """The chat asked to stop the job; what is finished stays in the cache."""


@dataclass
class ChatProgress:
    """Turns the engine's progress calls into one message, edited in place and never too often."""

    post: Callable[[str], None]
    every: float = PROGRESS_EVERY
    last: float = -math.inf  # not 0: monotonic time starts near 0 at boot, and the first message must go
    stages: dict[str, tuple[float, str]] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)
    stage_began: float = field(default_factory=time.monotonic)

    def _show(self, stage: str, done: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        total, unit = self.stages.get(stage, (1.0, "step"))
        share = min(1.0, done / total) if total else 1.0
        eta = ""
        if 0 < share < 1:  # the stage's own pace so far, projected over what is left of it
            eta = f", about {(now - self.stage_began) * (1 - share) / share:.0f} s left in this step"
        self.post(f"⏳ {stage}: {done:g}/{total:g} {unit} ({share:.0%}){eta}; {now - self.began:.0f} s so far")

    def started(self, stage: str, total: float, unit: str) -> None:
        """A stage began."""
        self.stages[stage] = (total, unit)
        self.stage_began = time.monotonic()
        self._show(stage, 0)

    def advanced(self, stage: str, done: float) -> None:
        """A stage moved on."""
        self._show(stage, done)

    def finished(self, stage: str) -> None:
        """A stage ended."""
        total, _ = self.stages.get(stage, (1.0, "step"))
        self._show(stage, total)

    def queued(self, ahead: int) -> None:
        """Where the job stands in the queue, shown at once (the queue moves seldom)."""
        self.post(f"🕒 queued: {ahead} job(s) ahead of this one")


@dataclass(frozen=True)
class JobHooks:
    """What the bot does with a job's news: progress, files ready early, and the end."""

    progress: ChatProgress
    ready: Callable[[str, tuple[Path, ...]], Awaitable[None]]  # runs in the loop, in order
    done: Callable[[object | None, str | None], Awaitable[None]]  # (artefacts, plain-words problem)


class _InOrder:
    """Coroutines handed over from the worker thread, run in the loop one after another."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.last: concurrent.futures.Future | None = None

    def then(self, make: Callable[[], Awaitable[None]]) -> None:
        previous = self.last

        async def step() -> None:
            if previous is not None:
                await asyncio.wrap_future(previous)
            try:
                await make()
            except Exception:  # one failed upload must not stop the rest of the delivery
                log.exception("a delivery step failed")

        self.last = asyncio.run_coroutine_threadsafe(step(), self.loop)

    def wait(self) -> None:
        if self.last is not None:
            self.last.result()


class JobRunner:
    """Runs video jobs one at a time in a worker thread, and reports back into the event loop."""

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.settings = settings
        with translate_os_errors(str(settings.data_dir)):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.resolved_database_url)
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="video-job")
        self.lock = threading.Lock()  # the loop adds jobs, worker threads take them off
        self.queued: dict[int, int] = {}  # chat -> jobs queued or running
        self.waiting: list[int] = []  # job ids not started yet, in order
        self.running: set[int] = set()
        self.announce: dict[int, Callable[[int], None]] = {}  # job id -> tell the chat its place in the queue
        self.cancelled: set[int] = set()  # bot job ids to stop
        self.current: dict[int, str] = {}  # chat -> what its running job is doing

    def unfinished(self) -> list[BotJob]:
        """Jobs a previous run of the bot queued or started and did not finish, oldest first."""
        with Session(self.store.engine) as session:
            rows = session.exec(select(BotJob).where(BotJob.state.in_(("queued", "running"))).order_by(BotJob.id))  # type: ignore[attr-defined,arg-type]
            return list(rows)

    def jobs_of(self, chat: int | None, limit: int = 10) -> list[BotJob]:
        """A chat's latest jobs (every chat's for None), newest first."""
        with Session(self.store.engine) as session:
            query = select(BotJob).order_by(BotJob.id.desc()).limit(limit)  # type: ignore[union-attr]
            if chat is not None:
                query = query.where(BotJob.chat_id == chat)
            return list(session.exec(query))

    def job(self, job_id: int) -> BotJob | None:
        """One job by its number."""
        with Session(self.store.engine) as session:
            return session.get(BotJob, job_id)

    def settings_of(self, chat: int) -> ChatSettings:
        """A chat's defaults (empty ones for a chat that never set any)."""
        with Session(self.store.engine) as session:
            return session.get(ChatSettings, chat) or ChatSettings(chat_id=chat)

    def position(self) -> int:
        """How many jobs are ahead of a new one."""
        with self.lock:
            return len(self.waiting) + len(self.running)

    def _tell_positions(self) -> None:
        with self.lock:
            places = [(self.announce.get(job_id), len(self.running) + k) for k, job_id in enumerate(self.waiting)]
        for announce, ahead in places:
            if announce is not None:
                announce(ahead)

    def submit(self, job: BotJob, loop: asyncio.AbstractEventLoop, hooks: JobHooks) -> BotJob:
        """Queue a job (saved first, so a restart can finish it); the hooks run in the loop."""
        from engine.pipeline import make_video, request_from_json

        job = self.store.add(job)  # type: ignore[assignment]
        chat, job_id = job.chat_id, int(job.id)  # type: ignore[arg-type]
        request = request_from_json(job.request_json)
        in_order = _InOrder(loop)
        hook = _JobHook(hooks.progress, lambda: job_id in self.cancelled,
                        lambda text: self.current.__setitem__(chat, text),
                        lambda kind, paths: in_order.then(lambda: hooks.ready(kind, paths)))
        with self.lock:
            self.queued[chat] = self.queued.get(chat, 0) + 1
            self.waiting.append(job_id)
            self.announce[job_id] = hooks.progress.queued

        def work() -> None:
            with self.lock:
                self.waiting.remove(job_id)
                self.announce.pop(job_id, None)
                self.running.add(job_id)
            self._tell_positions()
            artefacts, problem = None, None
            job.state = "running"
            self.store.add(job)
            try:
                if job_id in self.cancelled:
                    raise JobCancelled("cancelled before it started")
                artefacts = make_video(request, self.settings, hook)
                job.state, job.folder = "done", str(artefacts.folder)
            except JobCancelled:
                job.state, problem = "cancelled", "Cancelled; what was finished is kept, so asking again is quicker."
            except VideoFactoryError as error:
                job.state, problem = "failed", str(error)
            except Exception:  # the chat gets a plain message; the log gets the details
                log.exception("job %s of chat %s failed", job_id, chat)
                job.state, problem = "failed", "something went wrong on our side; the details are in the bot's log"
            job.error = problem
            self.store.add(job)
            self.current.pop(chat, None)
            try:
                in_order.wait()  # every early delivery first, then the end
                asyncio.run_coroutine_threadsafe(hooks.done(artefacts, problem), loop).result()
            except Exception:
                log.exception("could not deliver job %s of chat %s", job_id, chat)
            finally:
                with self.lock:
                    self.queued[chat] -= 1  # counted until delivered
                    self.running.discard(job_id)

        def guarded() -> None:
            try:
                work()
            except BaseException:  # an executor swallows what escapes a task: it must reach the log
                log.exception("the job thread of chat %s stopped", chat)
                raise

        self.pool.submit(guarded)
        return job

    def mark_delivered(self, job_id: int, path: Path) -> None:
        """Remember that a file of a job reached its chat."""
        with Session(self.store.engine, expire_on_commit=False) as session:
            row = session.get(BotJob, job_id)
            if row is not None:
                row.delivered = "\n".join(filter(None, [row.delivered, str(path)]))
                session.add(row)
                session.commit()

    def shutdown(self) -> None:
        """Stop taking jobs; a running one is left to the next start, which resumes it from the cache."""
        self.pool.shutdown(wait=False, cancel_futures=True)


class _JobHook:
    """The engine's progress hook for one job: shows progress, hands files over early, stops on /cancel."""

    def __init__(
        self, inner: ChatProgress, stop: Callable[[], bool], note: Callable[[str], None],
        ready: Callable[[str, tuple[Path, ...]], None],
    ) -> None:
        self.inner, self.stop, self.note, self._ready = inner, stop, note, ready

    def _check(self) -> None:
        if self.stop():
            raise JobCancelled("cancelled")

    def started(self, stage: str, total: float, unit: str) -> None:
        """A stage began."""
        self._check()
        self.note(f"{stage} (0/{total:g} {unit})")
        self.inner.started(stage, total, unit)

    def advanced(self, stage: str, done: float) -> None:
        """A stage moved on."""
        self._check()
        total, unit = self.inner.stages.get(stage, (1.0, "step"))
        self.note(f"{stage} ({done:g}/{total:g} {unit})")
        self.inner.advanced(stage, done)

    def finished(self, stage: str) -> None:
        """A stage ended."""
        self.inner.finished(stage)

    def ready(self, kind: str, paths: tuple[Path, ...]) -> None:
        """Files the chat can have now, while the rest is made."""
        self._ready(kind, paths)
