"""The database: jobs and the record of every stage run (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from engine.errors import OutputError


def utcnow() -> datetime:
    """Now, in UTC, for timestamps in the database."""
    return datetime.now(timezone.utc)


class JobRecord(SQLModel, table=True):
    """One requested video and how it ended."""

    __tablename__ = "jobs"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True)
    topic: str
    preset: str
    status: str = "running"  # running, done, failed
    created: datetime = Field(default_factory=utcnow)
    finished: datetime | None = None
    folder: str = ""
    error: str | None = None
    video_seconds: float | None = None


class StageRun(SQLModel, table=True):
    """One stage of one job run: backend, timing, outcome and how much came from the cache."""

    __tablename__ = "stage_runs"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    stage: str = Field(index=True)
    backend: str = ""
    started: datetime = Field(default_factory=utcnow)
    finished: datetime | None = None
    outcome: str = "running"  # running, done, failed
    error: str | None = None
    cache_hit: bool = False
    items_total: int = 0
    items_cached: int = 0
    items_computed: int = 0


class TokenLedger(SQLModel, table=True):
    """What one token has done: calls, estimated spend, its last refusals and its state."""

    __tablename__ = "hf_tokens"
    key: str = Field(primary_key=True)  # sha256 of the token: never the token itself
    fingerprint: str
    month: str = ""  # the month the spend counts for, "2026-11"
    calls: int = 0
    spend_usd: float = 0.0
    state: str = "ok"  # ok, throttled, exhausted, invalid
    cooldown_until: datetime | None = None
    last_402: datetime | None = None
    last_429: datetime | None = None
    last_401: datetime | None = None


class PausedJob(SQLModel, table=True):
    """A job that stopped because its service tokens ran out, and when it can go on."""

    __tablename__ = "paused_jobs"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    request_json: str  # the JobRequest, to run it again
    reason: str
    resume_after: datetime | None = None
    resumed: bool = False


class Store:
    """Opens the database and hands out short sessions."""

    def __init__(self, url: str) -> None:
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = create_engine(url, connect_args=connect_args)
        try:
            SQLModel.metadata.create_all(self.engine)
        except OperationalError as error:
            raise OutputError(f"cannot open the database: {error.orig}") from None

    def add(self, row: SQLModel) -> SQLModel:
        """Insert or update a row and return it refreshed."""
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
        return row

    def stage_runs(self, job_id: int) -> list[StageRun]:
        """Every stage run of a job, in the order they started."""
        with Session(self.engine) as session:
            return list(
                session.exec(select(StageRun).where(StageRun.job_id == job_id).order_by(StageRun.id))
            )

    def paused(self) -> list[PausedJob]:
        """Paused jobs not resumed yet, oldest first."""
        with Session(self.engine) as session:
            return list(session.exec(select(PausedJob).where(PausedJob.resumed == False).order_by(PausedJob.id)))  # noqa: E712

    def jobs(self) -> list[JobRecord]:
        """All jobs, oldest first."""
        with Session(self.engine) as session:
            return list(session.exec(select(JobRecord).order_by(JobRecord.id)))
