"""The database (SQLite by default, PostgreSQL by URL), brought to the newest schema when it is opened."""

from __future__ import annotations

import functools
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar, overload

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine, select

from engine.cache import check_writable
from engine.config import Settings
from engine.errors import DatabaseError
from engine.tables import StageRun, utcnow

__all__ = ["Store", "as_utc", "open_store", "utcnow"]

Row = TypeVar("Row", bound=SQLModel)

_MIGRATING = threading.Lock()
BUSY_SECONDS = 30.0  # how long a SQLite call waits for another process's write (VF_DATABASE_BUSY_SECONDS)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """A timestamp read back from the database, zone restored: SQLite hands them back naive, stored in UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def migrations_dir() -> Path:
    """engine/migrations, where Alembic finds its environment and the revisions."""
    return Path(__file__).resolve().parent / "migrations"


def _config():  # noqa: ANN202 - alembic's Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


@functools.cache
def newest_revision() -> str:
    """The revision the code expects (read once per process)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current_revision(engine) -> str | None:  # noqa: ANN001 - a SQLAlchemy Engine
    """The revision a database is at; None for a new one or one of release 0.1."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine) -> None:  # noqa: ANN001 - a SQLAlchemy Engine
    """Apply every migration the database lacks (a database of release 0.1 starts at the first)."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _sqlite_lock(url: str):  # noqa: ANN202 - a filelock.FileLock
    """A lock file beside a SQLite database, so two processes opening it at once migrate it once."""
    from filelock import FileLock

    database = make_url(url).database
    return FileLock(f"{database}.migrate.lock") if database else None


def _sqlite_engine(url: str, busy_seconds: float) -> Engine:
    """A SQLite engine in WAL mode (readers never wait for a writer) that waits `busy_seconds` for a lock."""
    engine = create_engine(url, connect_args={"timeout": busy_seconds})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, record) -> None:  # noqa: ANN001 - DB-API connection and pool record
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a power cut loses at most the last commits
        cursor.close()

    return engine


def _translate_errors(engine: Engine, where: str, busy_seconds: float) -> None:
    """Errors of the database driver become ours, in one sentence, at this edge."""

    @event.listens_for(engine, "handle_error")
    def _translated(context) -> None:  # noqa: ANN001 - SQLAlchemy's ExceptionContext
        text = str(context.original_exception).lower()
        if "database is locked" in text or "database table is locked" in text:
            raise DatabaseError(f"the database is busy: another process has held it for over {busy_seconds:g} s; "
                                "try again when it is done") from None
        if "file is not a database" in text or "malformed" in text:
            raise DatabaseError(f"the database {where} is damaged; move it away and a new one is made") from None
        if isinstance(context.original_exception, OSError | sqlite3.OperationalError) and "unable to open" in text:
            raise DatabaseError(f"cannot open the database {where}: {context.original_exception}") from None


class Store:
    """Opens the database, migrates it to the newest schema, and hands out short sessions."""

    def __init__(self, url: str, busy_seconds: float = BUSY_SECONDS) -> None:
        sqlite = url.startswith("sqlite")
        self.engine = _sqlite_engine(url, busy_seconds) if sqlite else create_engine(url, pool_pre_ping=True)
        # Shown in errors: the file of a SQLite database; never a server URL, which may carry a password.
        where = str(make_url(url).database) if sqlite else "server"
        _translate_errors(self.engine, where, busy_seconds)
        try:
            self._migrate(url, sqlite)
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot open the database: {type(error.orig or error).__name__}") from None

    def _migrate(self, url: str, sqlite: bool) -> None:
        if current_revision(self.engine) == newest_revision():
            return
        with _MIGRATING:
            lock = _sqlite_lock(url) if sqlite else None
            if lock is None:
                upgrade(self.engine)
                return
            with lock:  # another process may have migrated it while this one waited: upgrade sees that
                upgrade(self.engine)

    def add(self, row: SQLModel) -> SQLModel:
        """Insert or update a row and return it refreshed."""
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
        return row

    def get(self, model: type[Row], key: object) -> Row | None:
        """One row by its primary key."""
        with Session(self.engine) as session:
            return session.get(model, key)

    def stage_runs(self, job_id: int) -> list[StageRun]:
        """Every stage run of a job, in the order they started."""
        with Session(self.engine) as session:
            return list(session.exec(select(StageRun).where(StageRun.job_id == job_id).order_by(StageRun.id)))


def open_store(settings: Settings) -> Store:
    """The configured database; its data folder made first (a clear error if it cannot be written)."""
    check_writable(settings.data_dir)
    return Store(settings.resolved_database_url, settings.database_busy_seconds)
