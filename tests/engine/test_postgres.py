"""PostgreSQL through VF_DATABASE_URL, against a real server: the schema, and workers taking jobs at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from engine.config import load_settings
from engine.jobs import Failed, JobBook, JobState, Origin
from engine.models import JobRequest
from engine.pipeline import prepare
from engine.store import Store

JOBS = 40


def test_the_schema_on_postgresql_is_exactly_the_models(postgres_url: str):
    store = Store(postgres_url)
    with store.engine.connect() as connection:
        # Types are not compared: the models' timestamps are a TypeDecorator (sqlmodel's, which insists on
        # aware datetimes) over the TIMESTAMP the migrations create, and autogenerate reports every one.
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, SQLModel.metadata) == []
    Store(postgres_url)  # a second process opening it finds it migrated


def _take_all(url: str, ids: list[int], taken: multiprocessing.Queue) -> None:
    book = JobBook(Store(url))
    for job_id in ids:
        if book.start(job_id) is not None:
            book.progress(job_id, "render", 1, 2, "segment", None)
            book.end(job_id, Failed("made up"))
            taken.put(job_id)


def test_two_workers_taking_jobs_at_once_never_take_one_twice(postgres_url: str, tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", database_url=postgres_url)
    book = JobBook(Store(postgres_url))
    prepared = prepare(JobRequest(topic="Tides", preset="science"), settings)
    ids = [int(book.create(prepared.request, prepared.preset, prepared.slug, Origin("cli"), tmp_path).id)  # type: ignore[arg-type]
           for _ in range(JOBS)]
    context = multiprocessing.get_context("spawn")
    taken = context.Queue()
    workers = [context.Process(target=_take_all, args=(postgres_url, ids, taken)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    got = [taken.get(timeout=5) for _ in range(JOBS)]
    assert sorted(got) == ids and taken.empty()  # every job taken once, by one of them
    rows = [book.get(job_id) for job_id in ids]
    assert all(row.state == JobState.FAILED and row.attempts == 1 for row in rows)
