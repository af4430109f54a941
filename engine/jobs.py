"""The job model: one row per video, an explicit state machine, and outcomes as values.

```
queued → running → done | failed | cancelled
           ↓  ↑
          paused            (tokens ran out; back to queued at resume_after or at the next start)
```
Every change of state is a compare-and-set on the row (`UPDATE … WHERE state = :from`), so two
processes can never both start a job or both end it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.errors import InputError, VideoFactoryError
from engine.models import Artefacts, JobRequest
from engine.presets import Preset
from engine.processes import process_is_gone, this_process
from engine.store import Store, as_utc
from engine.review import AWAITING_REVIEW
from engine.tables import Job, utcnow


class JobState(StrEnum):
    """Where a job stands."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


INTERRUPTED = "interrupted: its process ended before it finished"
ACTIVE = (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED)
FINAL = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    # back to queued: its process died and another run takes it up again from the cache
    JobState.RUNNING: frozenset({JobState.PAUSED, JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED}),
    JobState.PAUSED: frozenset({JobState.QUEUED, JobState.CANCELLED, JobState.FAILED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset({JobState.QUEUED}),  # retried by hand
    JobState.CANCELLED: frozenset({JobState.QUEUED}),
}


class JobCancelled(VideoFactoryError):
    """The job was asked to stop; what is finished stays in the cache."""


class JobFailed(VideoFactoryError):
    """A job ended as Failed, raised for callers that want an exception (library use)."""

    def __init__(self, reason: str, exit_code: int = 1) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


class StateConflict(VideoFactoryError):
    """A job was not in the state a change expected (another process moved it first)."""


# --- outcomes: how a run of a job ended -----------------------------------------------------------

@dataclass(frozen=True)
class Done:
    """The video and its files are made."""

    artefacts: Artefacts


@dataclass(frozen=True)
class Cancelled:
    """Stopped on request; what was finished stays cached."""


@dataclass(frozen=True)
class Failed:
    """It cannot be made as asked; `reason` is one sentence for a person."""

    reason: str
    exit_code: int = 1


@dataclass(frozen=True)
class Paused:
    """Service tokens ran out; it goes on by itself at `resume_after` (or at the next start)."""

    reason: str
    resume_after: datetime | None


Outcome = Done | Cancelled | Failed | Paused


LOCAL = "local"  # jobs `make`, `resume` and `shots --replace` run in their own process: never a queue's to take


@dataclass(frozen=True)
class Origin:
    """Who asked for a job, and so who hears of it."""

    kind: str = "cli"  # cli (a queue's, from `submit`), local (made in this process by the CLI), telegram, web
    chat_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class JobPlan:
    """What one run of a job needs: its number, the resolved request, the preset as it was, its folders."""

    job_id: int
    request: JobRequest
    preset: Preset
    folder: Path
    work: Path
    fresh: bool  # ignore the cache: only on a job's first attempt, so a resume never starts over


def request_of(job: Job) -> JobRequest:
    """The resolved request a job row carries."""
    return JobRequest.model_validate_json(job.request_json)


def preset_of(job: Job) -> Preset:
    """The preset as it was when the job was made."""
    return Preset.model_validate_json(job.preset_json)


def files_folder(job: Job, output_root: Path) -> Path | None:
    """The job's own folder when it may be shown: None when it has none (rows moved by migration 0002 can have
    an empty one, which would mean the working directory) or when it is not inside the output root."""
    if not job.folder:
        return None
    folder, root = Path(job.folder), output_root.resolve()
    if not folder.is_absolute() or folder.is_symlink():
        return None
    folder = folder.resolve()
    return folder if root in folder.parents else None


def plan_of(job: Job, work_root: Path) -> JobPlan:
    """A job row as what its run needs."""
    folder, request = Path(job.folder), request_of(job)
    return JobPlan(int(job.id), request, preset_of(job), folder, work_root / folder.name,  # type: ignore[arg-type]
                   fresh=request.fresh and job.attempts <= 1)


class JobBook:
    """The jobs table: made, moved from state to state, followed; the only code that writes a job's state."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, request: JobRequest, preset: Preset, slug: str, origin: Origin, output_dir: Path) -> Job:
        """A new queued job with its own folder, `<output>/<slug>-<id>`."""
        with Session(self.store.engine, expire_on_commit=False) as session:
            job = Job(topic=request.topic or slug, preset=preset.name, slug=slug, origin=origin.kind,
                      chat_id=origin.chat_id, message_id=origin.message_id,
                      request_json=request.model_dump_json(), preset_json=preset.model_dump_json())
            session.add(job)
            session.flush()  # the id, for the folder's name
            # Absolute: a job taken up later, from another working folder, still finds its own.
            job.folder = str(output_dir.resolve() / f"{slug}-{job.id}")
            session.commit()
            session.refresh(job)
        return job

    def discard(self, job_id: int) -> None:
        """Forget a job that never reached its queue: a queued row never started goes, its folder with it if empty."""
        with Session(self.store.engine) as session:
            job = session.get(Job, job_id)
            if job is None or job.state != JobState.QUEUED or job.attempts:
                return
            session.delete(job)
            session.commit()
        folder = Path(job.folder) if job.folder else None
        if folder is not None and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()

    def get(self, job_id: int) -> Job | None:
        """One job by its number."""
        with Session(self.store.engine) as session:
            return session.get(Job, job_id)

    def find(self, *, states: Iterable[JobState] | None = None, origin: str | None = None,
             chat_id: int | None = None, limit: int | None = None, newest_first: bool = False) -> list[Job]:
        """Jobs by state, origin and chat, oldest first unless asked otherwise."""
        query = select(Job).order_by(col(Job.id).desc() if newest_first else col(Job.id))
        if states is not None:
            query = query.where(col(Job.state).in_([str(state) for state in states]))
        if origin is not None:
            query = query.where(Job.origin == origin)
        if chat_id is not None:
            query = query.where(Job.chat_id == chat_id)
        if limit is not None:
            query = query.limit(limit)
        with Session(self.store.engine) as session:
            return list(session.exec(query))

    def _set(self, job_id: int, expected: Iterable[JobState] | None, **values: object) -> bool:
        """Change a job's columns, only while it is in one of `expected` states; whether it did."""
        statement = update(Job).where(col(Job.id) == job_id)
        if expected is not None:
            statement = statement.where(col(Job.state).in_([str(state) for state in expected]))
        with Session(self.store.engine) as session:
            changed = session.exec(statement.values(**values)).rowcount  # type: ignore[call-overload]
            session.commit()
        return bool(changed)

    def move(self, job_id: int, to: JobState, **values: object) -> Job:
        """Change a job's state along the state machine; StateConflict if it is not where that is allowed."""
        allowed = [state for state, targets in TRANSITIONS.items() if to in targets]
        if not self._set(job_id, allowed, state=str(to), **values):
            job = self.get(job_id)
            where = job.state if job is not None else "missing"
            raise StateConflict(f"job {job_id} cannot become {to}: it is {where}")
        return self.get(job_id)  # type: ignore[return-value]

    def start(self, job_id: int) -> Job | None:
        """Take a queued job to run it here; None if someone else took it or it was cancelled."""
        job = self.get(job_id)
        if job is None or job.state != JobState.QUEUED:
            return None
        now = utcnow()
        if not self._set(job_id, [JobState.QUEUED], state=str(JobState.RUNNING), worker=this_process(),
                         attempts=job.attempts + 1, started=job.started or now, resume_after=None, error=None):
            return None
        return self.get(job_id)

    def end(self, job_id: int, outcome: Outcome) -> Job:
        """Book how a run ended: done, failed, cancelled, or paused until a token is back."""
        common = {"worker": None, "stage": None, "eta_seconds": None, "cancel_requested": False, "lease_until": None}
        match outcome:
            case Done():
                return self.move(job_id, JobState.DONE, finished=utcnow(), error=None, **common)
            case Failed(reason):
                return self.move(job_id, JobState.FAILED, finished=utcnow(), error=reason, **common)
            case Cancelled():
                return self.move(job_id, JobState.CANCELLED, finished=utcnow(), **common)
            case Paused(reason, resume_after):
                return self.move(job_id, JobState.PAUSED, error=reason, resume_after=resume_after, **common)
        raise AssertionError(f"unknown outcome {outcome!r}")

    def cancel(self, job_id: int) -> bool:
        """Stop a job: at once if it waits, between two items if it runs; whether there was one to stop."""
        if self._set(job_id, [JobState.QUEUED, JobState.PAUSED], state=str(JobState.CANCELLED), finished=utcnow()):
            return True
        return self._set(job_id, [JobState.RUNNING], cancel_requested=True)

    def cancel_requested(self, job_id: int) -> bool:
        """Whether a running job was asked to stop."""
        job = self.get(job_id)
        return job is None or job.cancel_requested or job.state == JobState.CANCELLED

    def requeue(self, job_id: int, from_states: Iterable[JobState]) -> bool:
        """Put a paused or interrupted job back in the queue; whether it was in one of `from_states`."""
        return self._set(job_id, list(from_states), state=str(JobState.QUEUED), worker=None, stage=None, sent_at=None)

    def lease(self, job_id: int, worker: str, until: datetime) -> bool:
        """Renew the lease of a job this worker runs; False when it is no longer this worker's."""
        return self._set_where(job_id, [JobState.RUNNING], worker, lease_until=until)

    def take_over(self, job_id: int, worker: str | None, now: datetime) -> bool:
        """Put a running job whose worker let its lease expire back in the queue; whether this call did it."""
        job = self.get(job_id)
        lease = as_utc(job.lease_until) if job is not None else None
        if job is None or job.worker != worker or (lease is not None and lease > now):
            return False
        return self._set_where(job_id, [JobState.RUNNING], worker, state=str(JobState.QUEUED), worker=None,
                               stage=None, lease_until=None, sent_at=None)

    def sent(self, job_id: int, now: datetime) -> None:
        """Its message is on the queue now (a queued job without one is sent again by the reaper)."""
        self._set(job_id, [JobState.QUEUED], sent_at=now)

    def unsent(self) -> list[Job]:
        """Queued jobs whose message never reached the queue (the broker was down), but for those run in-process."""
        return [job for job in self.find(states=[JobState.QUEUED]) if job.sent_at is None and job.origin != LOCAL]

    def _set_where(self, job_id: int, expected: Iterable[JobState], owner: str | None, **values: object) -> bool:
        """`_set`, only while the job's worker is still `owner` (a compare-and-set on both)."""
        statement = update(Job).where(col(Job.id) == job_id, col(Job.state).in_([str(s) for s in expected]))
        statement = statement.where(col(Job.worker).is_(None) if owner is None else col(Job.worker) == owner)
        with Session(self.store.engine) as session:
            changed = session.exec(statement.values(**values)).rowcount  # type: ignore[call-overload]
            session.commit()
        return changed == 1

    def progress(self, job_id: int, stage: str, done: float, total: float, unit: str, eta: float | None) -> None:
        """Where a running job is: its stage, how far in it, and the time left in it."""
        self._set(job_id, [JobState.RUNNING], stage=stage, stage_done=done, stage_total=total, stage_unit=unit,
                  eta_seconds=eta)

    def video_seconds(self, job_id: int, seconds: float) -> None:
        """The finished video's length."""
        self._set(job_id, None, video_seconds=seconds)

    def delivered(self, job_id: int, name: str) -> None:
        """Remember that a file of a job (a name within its folder) reached whoever asked."""
        job = self.get(job_id)
        if job is not None and name not in job.delivered:
            self._set(job_id, None, delivered=[*job.delivered, name])

    def approve(self, job_id: int, thumbnail: int) -> None:
        """The thumbnail chosen for a job's video, kept even before the video is finished."""
        if not 1 <= thumbnail <= 3:
            raise InputError(f"thumbnail {thumbnail} does not exist; choose 1 to 3")
        self._set(job_id, None, thumbnail=thumbnail)

    def revise(self, job_id: int, request: JobRequest) -> None:
        """A paused job's request changed (a review replaced a picture or approved them); a StateConflict if it runs."""
        if not self._set(job_id, [JobState.PAUSED], request_json=request.model_dump_json()):
            raise StateConflict(f"job {job_id} is not paused: its request cannot change now")

    def interrupted(self, origin: str) -> list[Job]:
        """Jobs of `origin` whose process ended while they ran (killed, crashed, restarted)."""
        running = self.find(states=[JobState.RUNNING], origin=origin)
        return [job for job in running if process_is_gone(job.worker)]

    def stopped(self, origin: str) -> list[Job]:
        """Jobs of `origin` that stopped before they ended: interrupted mid-run, then paused ones."""
        return [*self.interrupted(origin), *self.find(states=[JobState.PAUSED], origin=origin)]

    def pause_interrupted(self, origin: str) -> list[Job]:
        """Mark jobs of `origin` whose process ended mid-run as paused, so `resume` or the same command takes them up."""
        marked = []
        for job in self.interrupted(origin):
            try:
                marked.append(self.move(int(job.id), JobState.PAUSED, error=INTERRUPTED, worker=None,  # type: ignore[arg-type]
                                        stage=None, resume_after=None))
            except StateConflict:
                continue  # taken up meanwhile
        return marked

    def due(self, origin: str | None, now: datetime) -> list[Job]:
        """Paused jobs of `origin` (None: of every origin) whose time to go on has come."""
        paused = self.find(states=[JobState.PAUSED], origin=origin)
        return [job for job in paused if job.error != AWAITING_REVIEW
                and (job.resume_after is None or as_utc(job.resume_after) <= now)]

    def next_resume(self, origin: str) -> datetime | None:
        """The earliest time a paused job of `origin` may go on."""
        times = [as_utc(job.resume_after) for job in self.find(states=[JobState.PAUSED], origin=origin)
                 if job.resume_after is not None]
        return min(times) if times else None
