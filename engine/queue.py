"""Jobs on a real queue: Celery over Redis (VF_BROKER_URL), run by `videofactory worker` on any machine.

The database is the record of every job (PostgreSQL for more than one machine); the queue only says
which job to run next. A worker takes a job with a compare-and-set on its row, so no two run one job,
and holds a lease on it that it renews while it runs. Celery acknowledges a task only when it ends
(late acknowledgement, rejected when a worker child dies, one task prefetched at a time); and
because Redis gives an unacknowledged task back only after its visibility timeout, every worker
also reaps: a running job whose lease expired (its worker was killed, its machine lost) goes back on
the queue, and another worker finishes it from the shared cache.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from engine.cache import Cache
from engine.config import Settings
from engine.errors import BackendError, ConfigError
from engine.housekeeping import tidy
from engine.jobs import LOCAL, JobBook, JobState, Paused, StateConflict
from engine.processes import this_process
from engine.runner import run_once
from engine.stages.render import SegmentHelpers, SegmentWork, cached_segment
from engine.store import Store, utcnow

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)
TASK = "videofactory.run_job"
SEGMENT_TASK = "videofactory.render_segment"
QUEUE = "videofactory"
# Kombu's Redis transport puts a delivered task that is still unacknowledged back on the queue once this many
# seconds have passed (acks_late: a job is acknowledged when it ends). A job that runs longer is delivered again;
# that second delivery finds the job's lease held by its live worker and leaves it (engine.jobs' compare-and-set).
# A worker lost mid-job is found sooner by the reaper, through its lease, not through this timeout.
VISIBILITY_SECONDS = 3600


def celery_app(settings: Settings) -> Celery:
    """The Celery application on VF_BROKER_URL, set so that a job survives the loss of its worker."""
    from celery import Celery

    if not settings.broker_url:
        raise ConfigError("no queue configured: set VF_BROKER_URL=redis://host:6379/0")
    app = Celery("videofactory", broker=settings.broker_url)
    # task_reject_on_worker_lost only acts when a prefork pool's child process dies; our workers use the solo and
    # threads pools (run_worker), where it does nothing: a lost worker's job comes back through the reaper.
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=QUEUE, task_serializer="json", accept_content=["json"], result_backend=None,
        broker_transport_options={"visibility_timeout": VISIBILITY_SECONDS}, broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False, task_ignore_result=True,
    )
    return app


class QueueUnreachable(BackendError):
    """The broker (VF_BROKER_URL) cannot be reached now: nothing was queued."""

    exit_code = 2


def _send_task(app: Celery, name: str, argument: object) -> None:
    """Put a task on the queue; QueueUnreachable when the broker cannot be reached, a ConfigError for an address
    that is no broker's (never with the address itself: it may hold a password)."""
    from kombu.exceptions import OperationalError

    try:
        app.send_task(name, args=[argument], queue=QUEUE)
    except OperationalError as error:
        raise QueueUnreachable(f"cannot reach the queue (VF_BROKER_URL): {type(error).__name__}; is Redis "
                               "running there?") from None
    except (KeyError, ImportError, ValueError) as error:  # kombu: an unknown transport, a URL it cannot read
        raise ConfigError(f"VF_BROKER_URL is not a queue address such as redis://host:6379/0 "
                          f"({type(error).__name__})") from None


def send(app: Celery, job_id: int, book: JobBook | None = None) -> None:
    """Put a job on the queue (and note in its row that it is there); QueueUnreachable when the broker cannot be
    reached, and then the row says it is not, so the reaper sends it again once the broker is back."""
    _send_task(app, TASK, job_id)
    if book is not None:
        book.sent(job_id, utcnow())


@cache
def _store(url: str, pid: int, busy: float) -> Store:
    """One store per process (and never one inherited across a fork: connections must not be shared)."""
    return Store(url, busy)


def process_store(settings: Settings) -> Store:
    """The database of this process."""
    return _store(settings.resolved_database_url, os.getpid(), settings.database_busy_seconds)


class Lease:
    """Renews a running job's lease every third of its length until the run ends."""

    def __init__(self, book: JobBook, job_id: int, seconds: float) -> None:
        self.book, self.job_id, self.seconds = book, job_id, seconds
        self.worker = this_process()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease-{job_id}", daemon=True)

    def _renew(self) -> None:
        while not self.stopped.wait(self.seconds / 3):
            if not self.book.lease(self.job_id, self.worker, utcnow() + timedelta(seconds=self.seconds)):
                log.warning("job %s is no longer this worker's: its lease was taken over", self.job_id)
                return

    def __enter__(self) -> Lease:
        self.book.lease(self.job_id, self.worker, utcnow() + timedelta(seconds=self.seconds))
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


class QueueHelpers:
    """Offers a video's segments to the other workers through the queue (SegmentHelpers)."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def offer(self, work: list[SegmentWork]) -> None:
        """One task per segment; a worker that finds it claimed or cached skips it."""
        adapter = TypeAdapter(SegmentWork)
        for piece in work:
            try:
                _send_task(self.app, SEGMENT_TASK, adapter.dump_python(piece, mode="json"))
            except Exception as error:  # helpers are a bonus: this worker renders everything itself anyway
                log.warning("could not offer segments to other workers: %s", error)
                return


def render_offered_segment(settings: Settings, work: dict) -> bool:
    """The segment task: render one offered segment into the shared cache, unless it is there or claimed."""
    piece = TypeAdapter(SegmentWork).validate_python(work)
    _, cached = cached_segment(piece, Cache(settings.cache_dir))
    if not cached:
        log.info("rendered segment %d of another worker's video", piece.segment.index + 1)
    return not cached


def run_job(settings: Settings, job_id: int, helpers: SegmentHelpers | None = None) -> None:
    """The task: run one job here if nobody else runs it, under a lease, and book how it ended."""
    store = process_store(settings)
    book = JobBook(store)
    job = book.start(job_id)
    if job is None:
        log.info("job %s is not waiting (taken, ended or cancelled): nothing to do", job_id)
        return
    log.info("job %s started here (attempt %d)", job_id, job.attempts)
    with Lease(book, job_id, settings.lease_seconds):
        outcome = run_once(job, settings, store, book, lambda event: None, helpers)
    try:
        book.end(job_id, outcome)
    except StateConflict as conflict:  # cancelled at the very end, or taken over: the row already says so
        log.info("%s", conflict)
    if isinstance(outcome, Paused):
        log.info("job %s paused until a token is back: %s", job_id, outcome.reason)
    try:
        tidy(settings, book, utcnow())
    except (OSError, BackendError) as error:
        log.warning("housekeeping after job %s failed: %s", job_id, error)


def reap(settings: Settings, app: Celery) -> list[int]:
    """Put back on the queue running jobs whose lease expired, paused jobs whose time has come, and queued jobs
    whose message never reached the queue (a send that failed while the broker was down)."""
    book, now = JobBook(process_store(settings)), utcnow()
    again = []
    for job in book.find(states=[JobState.RUNNING]):
        if job.lease_until is not None and book.take_over(int(job.id), job.worker, now):  # type: ignore[arg-type]
            log.warning("job %s: its worker %s stopped renewing its lease; it goes back on the queue",
                        job.id, job.worker)
            again.append(int(job.id))  # type: ignore[arg-type]
    for job in book.due(None, now):
        if job.origin == LOCAL:  # `videofactory make` runs its job in its own process and takes it up itself
            continue
        if book.requeue(int(job.id), [JobState.PAUSED]):  # type: ignore[arg-type]
            again.append(int(job.id))  # type: ignore[arg-type]
    # Queued rows whose message never got there: a send that failed while the broker was down, here or anywhere.
    again += [int(job.id) for job in book.unsent() if int(job.id) not in again]  # type: ignore[arg-type]
    for job_id in again:
        send(app, job_id, book)
    return again


def worker_app(settings: Settings) -> Celery:
    """The Celery application with the job task, as a worker runs it."""
    app = celery_app(settings)

    @app.task(name=TASK, acks_late=True, ignore_result=True)
    def run(job_id: int) -> None:
        run_job(settings, job_id, QueueHelpers(app))

    @app.task(name=SEGMENT_TASK, acks_late=True, ignore_result=True)
    def render_segment(work: dict) -> None:
        render_offered_segment(settings, work)

    return app


def _reap_forever(settings: Settings, app: Celery, stop: threading.Event) -> None:
    while not stop.wait(settings.lease_seconds / 4):
        try:
            reap(settings, app)
        except Exception:  # the reaper must outlive a database or broker hiccup
            log.exception("reaping expired leases failed; trying again")


def run_worker(settings: Settings, concurrency: int) -> None:
    """A Celery worker that runs jobs (`concurrency` at once) and reaps the jobs of workers that were lost."""
    from celery.signals import worker_ready, worker_shutdown

    if settings.resolved_database_url.startswith("sqlite"):
        log.warning("the database is SQLite: every worker must run on this machine (PostgreSQL through "
                    "VF_DATABASE_URL is for workers on several machines)")
    app = worker_app(settings)
    stop = threading.Event()
    worker_ready.connect(lambda **_: threading.Thread(target=_reap_forever, args=(settings, app, stop),
                                                      name="reaper", daemon=True).start(), weak=False)
    worker_shutdown.connect(lambda **_: stop.set(), weak=False)
    # Jobs run in threads of this process, not in forked children: a job starts processes of its own (ffmpeg,
    # the mood classifier), which Celery's daemonic pool children may not, and its heavy work is in them.
    pool = "solo" if concurrency == 1 else "threads"
    app.worker_main(["worker", f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=INFO", "-Q", QUEUE,
                     "--without-gossip", "--without-mingle", "-n", f"videofactory-{os.getpid()}@%h"])
