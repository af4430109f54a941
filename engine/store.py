"""The database: jobs and the record of every stage run (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import overload

from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from engine.errors import OutputError


def utcnow() -> datetime:
    """Now, in UTC, for timestamps in the database."""
    return datetime.now(timezone.utc)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """A timestamp read back from the database, zone restored: SQLite hands them back naive, stored in UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


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
    count_402: int = 0  # refusals this month, by kind
    count_429: int = 0
    count_401: int = 0
    images_ok: int = 0  # pictures made with this token this month
    images_failed: int = 0  # picture attempts it did not make (refused, or a failure on the service's side)


class PausedJob(SQLModel, table=True):
    """A job that stopped because its service tokens ran out, and when it can go on."""

    __tablename__ = "paused_jobs"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    request_json: str  # the JobRequest, to run it again
    reason: str
    resume_after: datetime | None = None
    resumed: bool = False


def _add_missing_columns(engine) -> None:
    """Columns added to a table since its database was made, added to it (all of ours are nullable or defaulted).

    create_all makes missing tables but never alters existing ones; a full migration tool is more than
    additive columns need.
    """
    existing = inspect(engine)
    with engine.begin() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if not existing.has_table(table.name):
                continue
            have = {column["name"] for column in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                default = column.default.arg if column.default is not None and column.default.is_scalar else None
                clause = f" DEFAULT {default!r}" if isinstance(default, int | float | str) and not isinstance(default, bool) else ""
                if isinstance(default, bool):
                    clause = f" DEFAULT {int(default)}"
                connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{clause}'))


class Store:
    """Opens the database and hands out short sessions."""

    def __init__(self, url: str) -> None:
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = create_engine(url, connect_args=connect_args)
        try:
            SQLModel.metadata.create_all(self.engine)
            _add_missing_columns(self.engine)
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
            return list(session.exec(select(PausedJob).where(PausedJob.resumed == False).order_by(PausedJob.id)))

    def jobs(self) -> list[JobRecord]:
        """All jobs, oldest first."""
        with Session(self.engine) as session:
            return list(session.exec(select(JobRecord).order_by(JobRecord.id)))
