"""Running jobs: the runner interface front ends talk to, its events, and the embedded in-process runner.

Front ends (the CLI, the bot, later a dashboard) `submit` a request, `cancel` a job, read its `status`,
and follow `events`; they never run stages themselves. The embedded runner runs jobs in worker threads of
this process; a runner over a real queue implements the same interface.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.config import Settings
from engine.errors import VideoFactoryError
from engine.jobs import (
    LOCAL,
    Cancelled,
    Done,
    Failed,
    JobBook,
    JobCancelled,
    JobFailed,
    JobState,
    Origin,
    Outcome,
    Paused,
    StateConflict,
    plan_of,
)
from engine.models import Artefacts, JobRequest
from engine.cache import check_writable
from engine.housekeeping import tidy
from engine.pipeline import make_video, prepare
from engine.processes import process_is_gone
from engine.review import AWAITING_REVIEW, ReviewWanted
from engine.stages.render import SegmentHelpers
from engine.store import Store, open_store, utcnow
from engine.tables import Job
from engine.tokens import TokensExhausted

log = logging.getLogger(__name__)

PROGRESS_SAVE_EVERY = 1.0  # seconds between writes of a running job's progress to the database
UNEXPECTED = "something went wrong on our side; the details are in the log"


# --- events -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobQueued:
    """A job waits for a worker, with `ahead` jobs before it (told again as the queue moves)."""

    job_id: int
    ahead: int


@dataclass(frozen=True)
class JobResumed:
    """A paused or interrupted job was put back in the queue; `why` is "token" or "restart"."""

    job_id: int
    why: str


@dataclass(frozen=True)
class JobStarted:
    """A worker took the job; `attempt` counts from 1."""

    job_id: int
    attempt: int


@dataclass(frozen=True)
class JobProgressed:
    """A stage began (done 0) or moved on."""

    job_id: int
    stage: str
    done: float
    total: float
    unit: str
    elapsed: float  # seconds since this run of the job began
    eta: float | None  # seconds left in this stage, projected from its pace so far


@dataclass(frozen=True)
class FilesReady:
    """Finished files ("thumbnails", "video", "export") that can be handed over before the job ends."""

    job_id: int
    kind: str
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class JobEnded:
    """A run of the job ended: done, failed, cancelled, or paused until a token is back."""

    job_id: int
    outcome: Outcome


JobEvent = JobQueued | JobResumed | JobStarted | JobProgressed | FilesReady | JobEnded
Listener = Callable[[JobEvent], None]


def notify(listeners: list[Listener], event: JobEvent) -> None:
    """Hand an event to every listener; one front end's trouble stops neither the job nor the others."""
    for listener in list(listeners):
        try:
            listener(event)
        except Exception:
            log.exception("a listener failed on %s", type(event).__name__)


class JobRunner(Protocol):
    """What a front end may ask of whatever runs the jobs."""

    def submit(self, request: JobRequest, origin: Origin) -> Job:
        """Check a request (an InputError if it cannot be made), save it as a queued job, and queue it."""
        ...

    def cancel(self, job_id: int) -> bool:
        """Stop a job (between two items if it runs); whether it was still going."""
        ...

    def status(self, job_id: int) -> Job | None:
        """The job's row as it is now."""
        ...

    def queue_length(self) -> int:
        """Jobs waiting or running: how many are ahead of a new one."""
        ...

    def resume(self, job_id: int, why: str = "token") -> bool:
        """Put a paused job back in the queue; whether it was one."""
        ...

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every event of every job (from a worker thread)."""
        ...

    def start(self) -> list[Job]:
        """Take up this runner's unfinished jobs (queued, interrupted, paused); the ones taken up."""
        ...

    def wait(self, job_id: int, timeout: float | None = None) -> Outcome | None:
        """Block until a run of the job ends; its outcome (None on timeout)."""
        ...

    def shutdown(self) -> None:
        """Stop taking jobs; a running one is left to the next start, which resumes it from the cache."""
        ...


class _Progress:
    """The pipeline's progress hook for one run: events, progress saved now and then, and cancellation."""

    def __init__(self, job_id: int, book: JobBook, emit: Callable[[JobEvent], None]) -> None:
        self.job_id, self.book, self.emit = job_id, book, emit
        self.began = time.monotonic()
        self.stages: dict[str, tuple[float, str, float]] = {}  # stage -> (total, unit, began)
        self.saved = -math.inf  # monotonic time starts near 0 at boot: the first save must happen
        self.lock = threading.Lock()

    def _check(self) -> None:
        if self.book.cancel_requested(self.job_id):
            raise JobCancelled("cancelled")

    def _tell(self, stage: str, done: float, force: bool = False) -> None:
        total, unit, began = self.stages.get(stage, (1.0, "step", time.monotonic()))
        now = time.monotonic()
        share = min(1.0, done / total) if total else 1.0
        eta = (now - began) * (1 - share) / share if 0 < share < 1 else None
        with self.lock:
            due = force or now - self.saved >= PROGRESS_SAVE_EVERY
            if due:
                self.saved = now
        if due:
            self.book.progress(self.job_id, stage, done, total, unit, eta)
        self.emit(JobProgressed(self.job_id, stage, done, total, unit, now - self.began, eta))

    def started(self, stage: str, total: float, unit: str) -> None:
        """A stage began: stop here if the job was cancelled."""
        self._check()
        self.stages[stage] = (total, unit, time.monotonic())
        self._tell(stage, 0, force=True)

    def advanced(self, stage: str, done: float) -> None:
        """A stage moved on: stop here if the job was cancelled."""
        self._check()
        self._tell(stage, done)

    def finished(self, stage: str) -> None:
        """A stage ended."""
        self._tell(stage, self.stages.get(stage, (1.0, "", 0.0))[0])

    def ready(self, kind: str, paths: tuple[Path, ...]) -> None:
        """Files whoever asked can have now, while the rest is made."""
        self.emit(FilesReady(self.job_id, kind, paths))


def run_once(job: Job, settings: Settings, store: Store, book: JobBook, emit: Callable[[JobEvent], None],
             helpers: SegmentHelpers | None = None) -> Outcome:
    """One run of a job that this process has started: its end as a value, whatever happened."""
    plan = plan_of(job, settings.data_dir / "work")
    try:
        artefacts = make_video(plan, settings, store, _Progress(plan.job_id, book, emit), helpers)
    except JobCancelled:
        return Cancelled()
    except TokensExhausted as error:  # nothing is lost: what finished is cached; it goes on when a token is back
        return Paused(str(error), error.resume_after)
    except ReviewWanted:  # its pictures wait for a person; approving or replacing one resumes it
        return Paused(AWAITING_REVIEW, None)
    except VideoFactoryError as error:
        _drop_if_empty(plan.folder)
        return Failed(str(error), error.exit_code)
    except Exception:  # whoever asked gets a plain sentence; the log gets the details
        log.exception("job %s failed", plan.job_id)
        _drop_if_empty(plan.folder)
        return Failed(UNEXPECTED)
    book.video_seconds(plan.job_id, artefacts.video_seconds)
    return Done(artefacts)


def _drop_if_empty(folder: Path) -> None:
    """A failed job's folder goes when nothing was made in it (no file anywhere below it)."""
    try:
        if folder.is_dir() and not any(path.is_file() for path in folder.rglob("*")):
            shutil.rmtree(folder)
    except OSError as error:
        log.info("could not remove the empty folder of a failed job: %s", error.strerror)


class EmbeddedRunner:
    """Runs jobs in worker threads of this process, one at a time by default; no services needed."""

    def __init__(self, settings: Settings, store: Store, origin: str = LOCAL, workers: int = 1) -> None:
        self.settings, self.store, self.origin = settings, store, origin
        self.book = JobBook(store)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="video-job")
        self.lock = threading.Lock()  # guards the queue's order and the outcomes
        self.waiting: list[int] = []
        self.running: set[int] = set()
        self.listeners: list[Listener] = []
        self.ended: dict[int, threading.Condition] = {}
        self.outcomes: dict[int, Outcome] = {}
        self.timer: threading.Timer | None = None
        self.closed = False

    # --- the interface ---------------------------------------------------------------------------

    def submit(self, request: JobRequest, origin: Origin, take_up_same: bool = False) -> Job:
        """Check a request (an InputError if it cannot be made), save it as a queued job, and queue it.

        With `take_up_same`, a paused or interrupted job of the same origin asking for exactly the same
        (same request, same preset) is taken up again instead: same number, same folder, from the cache.
        """
        prepared = prepare(request, self.settings)
        check_writable(self.settings.output_dir)  # before the job exists: bad input costs nothing
        if take_up_same:
            wanted = (prepared.request.model_dump_json(), prepared.preset.model_dump_json())
            for old in self.book.stopped(origin.kind):
                if (old.request_json, old.preset_json) == wanted and self.resume(int(old.id), "restart"):  # type: ignore[arg-type]
                    return self.book.get(int(old.id))  # type: ignore[arg-type,return-value]
        job = self.book.create(prepared.request, prepared.preset, prepared.slug, origin, self.settings.output_dir)
        self._enqueue(int(job.id))  # type: ignore[arg-type]
        return job

    def cancel(self, job_id: int) -> bool:
        """Stop a job: a waiting one at once, a running one between two items."""
        job = self.status(job_id)
        if job is None or not self.book.cancel(job_id):
            return False
        if job.state in (JobState.QUEUED, JobState.PAUSED):  # nobody runs it to say so: say it here
            with self.lock:
                if job_id in self.waiting:
                    self.waiting.remove(job_id)
            self._ended(job_id, Cancelled())
            self._tell_places()
        return True

    def status(self, job_id: int) -> Job | None:
        """The job's row as it is now."""
        return self.book.get(job_id)

    def queue_length(self) -> int:
        """Jobs waiting or running in this runner."""
        with self.lock:
            return len(self.waiting) + len(self.running)

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every event (from worker threads; it must not block for long)."""
        self.listeners.append(listener)

    def wait(self, job_id: int, timeout: float | None = None) -> Outcome | None:
        """Block until a run of the job ends; its outcome (None on timeout)."""
        condition = self._condition(job_id)
        with condition:
            condition.wait_for(lambda: job_id in self.outcomes, timeout)
        with self.lock:
            return self.outcomes.get(job_id)

    def start(self) -> list[Job]:
        """Take up this runner's unfinished jobs: queued, interrupted while running, and paused ones."""
        queued = self.book.find(states=[JobState.QUEUED], origin=self.origin)
        for job in queued:
            self._emit(JobResumed(int(job.id), "restart"))  # type: ignore[arg-type]
            self._enqueue(int(job.id))  # type: ignore[arg-type]
        stopped = self.book.stopped(self.origin)
        return [*queued, *(job for job in stopped if self.resume(int(job.id), "restart"))]  # type: ignore[arg-type]

    def resume(self, job_id: int, why: str = "token") -> bool:
        """Put one paused or interrupted job back in the queue; whether it was one."""
        job = self.status(job_id)
        if job is None or job.state not in (JobState.PAUSED, JobState.RUNNING):
            return False
        if job.state == JobState.RUNNING and not process_is_gone(job.worker):
            return False  # a live process runs it
        if not self.book.requeue(job_id, [JobState(job.state)]):
            return False
        self._emit(JobResumed(job_id, why))
        self._enqueue(job_id)
        return True

    def shutdown(self) -> None:
        """Stop taking jobs; a running one is left to the next start, which resumes it from the cache."""
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # --- the queue -------------------------------------------------------------------------------

    def _emit(self, event: JobEvent) -> None:
        notify(self.listeners, event)

    def _condition(self, job_id: int) -> threading.Condition:
        with self.lock:
            return self.ended.setdefault(job_id, threading.Condition())

    def _ended(self, job_id: int, outcome: Outcome) -> None:
        condition = self._condition(job_id)
        with condition:
            with self.lock:
                self.outcomes[job_id] = outcome
            condition.notify_all()
        self._emit(JobEnded(job_id, outcome))

    def _enqueue(self, job_id: int) -> None:
        with self.lock:
            self.outcomes.pop(job_id, None)
            self.waiting.append(job_id)
            ahead = len(self.waiting) - 1 + len(self.running)
        self._emit(JobQueued(job_id, ahead))
        self.pool.submit(self._guarded, job_id)

    def _tell_places(self) -> None:
        with self.lock:
            places = [(job_id, len(self.running) + k) for k, job_id in enumerate(self.waiting)]
        for job_id, ahead in places:
            self._emit(JobQueued(job_id, ahead))

    def _guarded(self, job_id: int) -> None:
        try:
            self._work(job_id)
        except BaseException:  # an executor swallows what escapes a task: it must reach the log
            log.exception("the worker of job %s stopped", job_id)
            raise

    def _work(self, job_id: int) -> None:
        with self.lock:
            if job_id not in self.waiting:
                return  # cancelled while it waited
            self.waiting.remove(job_id)
            self.running.add(job_id)
        self._tell_places()
        try:
            job = self.book.start(job_id)
            if job is None:
                return  # cancelled meanwhile, or another process took it
            self._emit(JobStarted(job_id, job.attempts))
            outcome = self._run(job)
            try:
                self.book.end(job_id, outcome)
            except StateConflict as conflict:  # cancelled at the very end: the row already says so
                log.info("%s", conflict)
            self._ended(job_id, outcome)
        finally:
            with self.lock:
                self.running.discard(job_id)
        if isinstance(outcome, Paused):
            self._arm_timer()
        self._tidy()

    def _tidy(self) -> None:
        """Housekeeping after a job: scratch of killed runs, released inputs, the cache's size cap."""
        try:
            tidy(self.settings, self.book, utcnow())
        except (OSError, VideoFactoryError) as error:  # tidying never fails a job
            log.warning("housekeeping after a job failed: %s", error)

    def _run(self, job: Job) -> Outcome:
        """One run of a job, its end as a value."""
        return run_once(job, self.settings, self.store, self.book, self._emit)

    # --- paused jobs go on by themselves ---------------------------------------------------------

    def _arm_timer(self) -> None:
        """Wake up when the first paused job of this runner may go on."""
        when = self.book.next_resume(self.origin)
        if when is None or self.closed:
            return
        delay = max(0.0, (when - utcnow()).total_seconds())
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = threading.Timer(delay + 0.05, self._resume_due)
            self.timer.daemon = True
            self.timer.start()

    def _resume_due(self) -> None:
        if self.closed:
            return
        for job in self.book.due(self.origin, utcnow()):
            self.resume(int(job.id), "token")  # type: ignore[arg-type]
        self._arm_timer()


def make(request: JobRequest, settings: Settings, listener: Listener | None = None) -> Artefacts:
    """Make one video in this process and wait for it (library use): its artefacts, or why not as an error."""
    runner = EmbeddedRunner(settings, open_store(settings))
    if listener is not None:
        runner.subscribe(listener)
    try:
        job = runner.submit(request, Origin(LOCAL))
        outcome = runner.wait(int(job.id))  # type: ignore[arg-type]
    finally:
        runner.shutdown()
    match outcome:
        case Done(artefacts):
            return artefacts
        case Paused(reason, resume_after):
            raise TokensExhausted(reason, resume_after)
        case Cancelled():
            raise JobCancelled("cancelled")
        case Failed(reason, exit_code):
            raise JobFailed(reason, exit_code)
    raise AssertionError(f"unknown outcome {outcome!r}")
