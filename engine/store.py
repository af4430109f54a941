"""The database (SQLite by default, PostgreSQL by URL), brought to the newest schema when it is opened."""

from __future__ import annotations

import functools
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar, overload

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine, select

from engine.errors import OutputError
from engine.tables import StageRun, utcnow

__all__ = ["Store", "as_utc", "utcnow"]

Row = TypeVar("Row", bound=SQLModel)

_MIGRATING = threading.Lock()


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


class Store:
    """Opens the database, migrates it to the newest schema, and hands out short sessions."""

    def __init__(self, url: str) -> None:
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, connect_args={"timeout": 30} if sqlite else {})
        try:
            self._migrate(url, sqlite)
        except OperationalError as error:
            raise OutputError(f"cannot open the database: {error.orig}") from None

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
