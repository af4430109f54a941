"""The database: a file made by an older version gains the columns added since, and keeps its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.store import JobRecord, Store


def test_an_older_database_gains_new_columns_and_keeps_its_rows(tmp_path: Path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the jobs table as the first version made it
        db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, slug VARCHAR NOT NULL, topic VARCHAR NOT NULL, "
                   "preset VARCHAR NOT NULL, status VARCHAR NOT NULL, created DATETIME NOT NULL, "
                   "finished DATETIME, folder VARCHAR NOT NULL, error VARCHAR)")
        db.execute("INSERT INTO jobs VALUES (1, 'tides', 'Tides', 'science', 'done', '2026-01-01 00:00:00', NULL, "
                   "'out/tides', NULL)")
    store = Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    assert "video_seconds" in columns
    [old] = store.jobs()
    assert (old.topic, old.video_seconds) == ("Tides", None)
    store.add(JobRecord(slug="comets", topic="Comets", preset="science", video_seconds=61.5))
    assert [job.video_seconds for job in store.jobs()] == [None, 61.5]
    Store(f"sqlite:///{path}")  # opening it again changes nothing
