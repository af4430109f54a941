"""The runner front ends use when jobs go on a queue: it only enqueues, and follows jobs through the database.

Workers on other machines write each job's progress and end into its row; a watcher thread here
reads the rows of the jobs it follows once a second and turns what changed into the same events
the embedded runner emits, so the bot's progress messages and deliveries work unchanged.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine.cache import check_writable
from engine.config import Settings
from engine.jobs import FINAL, Cancelled, Done, Failed, JobBook, JobState, Origin, Outcome, Paused
from engine.models import Artefacts, JobRequest
from engine.pipeline import prepare
from engine.records import MANIFEST_NAME, SCRIPT_NAME, read_manifest
from engine.queue import celery_app, send
from engine.runner import FilesReady, JobEnded, JobEvent, JobProgressed, JobQueued, JobResumed, JobStarted, Listener, notify
from engine.store import Store, as_utc
from engine.tables import Job

log = logging.getLogger(__name__)
WATCH_SECONDS = 1.0


def artefacts_of(job: Job) -> Artefacts:
    """A finished job's files, as its job.json lists them (the worker that made them wrote it)."""
    folder = Path(job.folder)
    files = [folder / name for name in read_manifest(folder).files]
    return Artefacts(
        folder, folder / "video.mp4", tuple(f for f in files if f.suffix in (".srt", ".vtt", ".ass")),
        tuple(f for f in files if f.parent.name == "thumbnails"), folder / SCRIPT_NAME, folder / MANIFEST_NAME,
        tuple(f for f in files if f.parent.name == "exports"), job.video_seconds or 0.0,
    )


def outcome_of(job: Job) -> Outcome | None:
    """How a job's run ended, from its row; None while it has not."""
    match job.state:
        case JobState.DONE:
            return Done(artefacts_of(job))
        case JobState.FAILED:
            return Failed(job.error or "failed")
        case JobState.CANCELLED:
            return Cancelled()
        case JobState.PAUSED:
            return Paused(job.error or "paused", as_utc(job.resume_after))
    return None


@dataclass
class _Seen:
    state: str
    attempts: int
    stage: str | None
    done: float


class QueueRunner:
    """A JobRunner that enqueues on VF_BROKER_URL and follows jobs through their rows."""

    def __init__(self, settings: Settings, store: Store, origin: str) -> None:
        self.settings, self.store, self.origin = settings, store, origin
        self.book = JobBook(store)
        self.app = celery_app(settings)
        self.listeners: list[Listener] = []
        self.seen: dict[int, _Seen] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.watcher: threading.Thread | None = None

    def submit(self, request: JobRequest, origin: Origin) -> Job:
        """Check a request, save it as a queued job, and put it on the queue."""
        prepared = prepare(request, self.settings)
        check_writable(self.settings.output_dir)
        job = self.book.create(prepared.request, prepared.preset, prepared.slug, origin, self.settings.output_dir)
        job_id = int(job.id)  # type: ignore[arg-type]
        with self.lock:
            self.seen[job_id] = _Seen(JobState.QUEUED, 0, None, 0.0)
        try:
            send(self.app, job_id, self.book)
        except BaseException:
            self.book.discard(job_id)  # never queued: no row is left that nobody will ever run
            with self.lock:
                self.seen.pop(job_id, None)
            raise
        self._emit(JobQueued(job_id, self.queue_length() - 1))
        return job

    def resume(self, job_id: int, why: str = "review") -> bool:
        """Put a paused job back on the queue; whether it was paused."""
        if not self.book.requeue(job_id, [JobState.PAUSED]):
            return False
        send(self.app, job_id, self.book)
        self._emit(JobResumed(job_id, why))
        return True

    def cancel(self, job_id: int) -> bool:
        """Stop a job: a waiting one at once, a running one between two items (its worker reads the row)."""
        return self.book.cancel(job_id)

    def status(self, job_id: int) -> Job | None:
        """The job's row as it is now."""
        return self.book.get(job_id)

    def queue_length(self) -> int:
        """Jobs waiting or running, on every worker."""
        return len(self.book.find(states=[JobState.QUEUED, JobState.RUNNING]))

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with the events of the jobs this runner follows (from the watcher thread)."""
        self.listeners.append(listener)
        self.start()

    def start(self) -> list[Job]:
        """Follow this origin's unfinished jobs; the workers take them up, not this process."""
        for job in self.book.find(states=[JobState.QUEUED, JobState.RUNNING, JobState.PAUSED], origin=self.origin):
            with self.lock:
                self.seen.setdefault(int(job.id), _Seen(job.state, job.attempts, job.stage, job.stage_done))  # type: ignore[arg-type]
        if self.watcher is None:
            self.watcher = threading.Thread(target=self._watch, name="queue-watcher", daemon=True)
            self.watcher.start()
        return []

    def wait(self, job_id: int, timeout: float | None = None) -> Outcome | None:
        """Block until a run of the job ends (done, failed, cancelled or paused); its outcome (None on timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            job = self.book.get(job_id)
            if job is None:
                return None
            outcome = outcome_of(job)
            if outcome is not None:
                return outcome
            time.sleep(0.5)
        return None

    def shutdown(self) -> None:
        """Stop following jobs; the workers go on with them."""
        self.stopped.set()

    # --- the watcher ------------------------------------------------------------------------------

    def _emit(self, event: JobEvent) -> None:
        notify(self.listeners, event)

    def _watch(self) -> None:
        while not self.stopped.wait(WATCH_SECONDS):
            try:
                self._look()
            except Exception:  # a database hiccup: look again next time
                log.exception("following the queue's jobs failed; trying again")

    def _look(self) -> None:
        # Jobs of this origin that another process put on the queue (`submit`, a restarted bot) are followed too.
        for job in self.book.find(states=[JobState.QUEUED, JobState.RUNNING], origin=self.origin):
            with self.lock:
                self.seen.setdefault(int(job.id), _Seen(JobState.QUEUED, 0, None, 0.0))  # type: ignore[arg-type]
        with self.lock:
            followed = dict(self.seen)
        for job_id, before in followed.items():
            job = self.book.get(job_id)
            if job is None:
                continue
            for event in self._changes(job, before):
                self._emit(event)

    def _changes(self, job: Job, before: _Seen) -> list[JobEvent]:
        job_id, events = int(job.id), []  # type: ignore[arg-type]
        if job.attempts != before.attempts and job.state in (JobState.RUNNING, *FINAL):
            events.append(JobStarted(job_id, job.attempts))
        if job.stage and (job.stage, job.stage_done) != (before.stage, before.done):
            events.append(JobProgressed(job_id, job.stage, job.stage_done, job.stage_total, job.stage_unit, 0.0,
                                        job.eta_seconds))
        outcome = outcome_of(job) if job.state != before.state else None
        if isinstance(outcome, Done):
            events.append(FilesReady(job_id, "thumbnails", outcome.artefacts.thumbnails))
        if outcome is not None:
            events.append(JobEnded(job_id, outcome))
        with self.lock:
            if outcome is not None and job.state in FINAL:
                self.seen.pop(job_id, None)
            else:
                self.seen[job_id] = _Seen(job.state, job.attempts, job.stage, job.stage_done)
        return events


def make_runner(settings: Settings, store: Store, origin: str):  # noqa: ANN201 - a JobRunner
    """The runner front ends use: on the queue when VF_BROKER_URL is set, else in this process."""
    if settings.broker_url:
        return QueueRunner(settings, store, origin)
    from engine.runner import EmbeddedRunner

    return EmbeddedRunner(settings, store, origin=origin)
