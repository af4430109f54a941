"""The database: a file made by an older release upgrades in place through Alembic and keeps what it held."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from engine.jobs import JobBook, JobState, request_of
from engine.store import Store, current_revision, newest_revision
from engine.tables import ABTest, ChatSettings, Job, TokenLedger

# The schema release 0.1 made (sqlite_master of a database it created), and a day of its rows.
RELEASE_0_1 = """
CREATE TABLE jobs (id INTEGER NOT NULL, slug VARCHAR NOT NULL, topic VARCHAR NOT NULL, preset VARCHAR NOT NULL,
    status VARCHAR NOT NULL, created DATETIME NOT NULL, finished DATETIME, folder VARCHAR NOT NULL, error VARCHAR,
    video_seconds FLOAT, PRIMARY KEY (id));
CREATE INDEX ix_jobs_slug ON jobs (slug);
CREATE TABLE hf_tokens ("key" VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, month VARCHAR NOT NULL,
    calls INTEGER NOT NULL, spend_usd FLOAT NOT NULL, state VARCHAR NOT NULL, cooldown_until DATETIME,
    last_402 DATETIME, last_429 DATETIME, last_401 DATETIME, count_402 INTEGER NOT NULL, count_429 INTEGER NOT NULL,
    count_401 INTEGER NOT NULL, images_ok INTEGER NOT NULL, images_failed INTEGER NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE ab_tests (id INTEGER NOT NULL, video_id VARCHAR NOT NULL, folder VARCHAR NOT NULL, chat_id INTEGER,
    variants INTEGER NOT NULL, started DATETIME NOT NULL, slot_hours FLOAT NOT NULL, max_days FLOAT NOT NULL,
    adaptive BOOLEAN NOT NULL, state VARCHAR NOT NULL, report_sent BOOLEAN NOT NULL, winner INTEGER,
    decided_by VARCHAR, finished DATETIME, PRIMARY KEY (id));
CREATE INDEX ix_ab_tests_video_id ON ab_tests (video_id);
CREATE TABLE bot_jobs (id INTEGER NOT NULL, chat_id INTEGER NOT NULL, request_json VARCHAR NOT NULL,
    status_message_id INTEGER, state VARCHAR NOT NULL, created DATETIME NOT NULL, error VARCHAR, folder VARCHAR,
    thumbnail INTEGER, delivered VARCHAR NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_bot_jobs_chat_id ON bot_jobs (chat_id);
CREATE TABLE bot_chat_settings (chat_id INTEGER NOT NULL, preset VARCHAR, language VARCHAR, caption_style VARCHAR,
    stats_time VARCHAR, stats_sent_on DATE, PRIMARY KEY (chat_id));
CREATE TABLE stage_runs (id INTEGER NOT NULL, job_id INTEGER NOT NULL, stage VARCHAR NOT NULL,
    backend VARCHAR NOT NULL, started DATETIME NOT NULL, finished DATETIME, outcome VARCHAR NOT NULL, error VARCHAR,
    cache_hit BOOLEAN NOT NULL, items_total INTEGER NOT NULL, items_cached INTEGER NOT NULL,
    items_computed INTEGER NOT NULL, PRIMARY KEY (id), FOREIGN KEY(job_id) REFERENCES jobs (id));
CREATE TABLE paused_jobs (id INTEGER NOT NULL, job_id INTEGER NOT NULL, request_json VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, resume_after DATETIME, resumed BOOLEAN NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(job_id) REFERENCES jobs (id));
CREATE TABLE ab_slots (id INTEGER NOT NULL, test_id INTEGER NOT NULL, variant INTEGER NOT NULL,
    start DATETIME NOT NULL, "end" DATETIME, views_start INTEGER NOT NULL, views_end INTEGER, PRIMARY KEY (id),
    FOREIGN KEY(test_id) REFERENCES ab_tests (id));
CREATE TABLE ab_days (id INTEGER NOT NULL, test_id INTEGER NOT NULL, day DATE NOT NULL, impressions INTEGER NOT NULL,
    click_rate FLOAT NOT NULL, PRIMARY KEY (id), FOREIGN KEY(test_id) REFERENCES ab_tests (id));
"""
REQUEST = '{"topic": "%s", "preset": "science", "script_file": null, "voiceover": null, "length": null, ' \
          '"fresh": false, "language": null, "caption_style": null, "exports": null}'
ROWS = [
    "INSERT INTO jobs VALUES (1, 'tides', 'Tides', 'science', 'done', '2026-11-20 10:00:00', "
    "'2026-11-20 10:03:00', '/out/tides', NULL, 61.5)",
    "INSERT INTO jobs VALUES (2, 'comets', 'Comets', 'science', 'running', '2026-11-21 10:00:00', NULL, '', NULL, NULL)",
    "INSERT INTO jobs VALUES (3, 'storms', 'Storms', 'science', 'paused', '2026-11-22 10:00:00', "
    "'2026-11-22 10:01:00', '', 'every token is spent', NULL)",
    "INSERT INTO stage_runs VALUES (1, 1, 'render', 'ffmpeg', '2026-11-20 10:01:00', '2026-11-20 10:02:00', 'done', "
    "NULL, 0, 12, 0, 12)",
    f"INSERT INTO paused_jobs VALUES (1, 3, '{REQUEST % 'Storms'}', 'every token is spent', '2026-12-01 00:00:00', 0)",
    f"INSERT INTO bot_jobs VALUES (1, 1001, '{REQUEST % 'Tides'}', 55, 'done', '2026-11-20 10:00:00', NULL, "
    "'/out/tides', 2, 'thumbnails:/out/tides/thumbnails/1.jpg\n/out/tides/video.mp4\n/out/tides/exports/shorts.mp4')",
    f"INSERT INTO bot_jobs VALUES (2, 1002, '{REQUEST % 'Volcanoes'}', 77, 'running', '2026-11-23 09:00:00', NULL, "
    "NULL, NULL, 'thumbnails:/out/volcanoes/thumbnails/1.jpg')",
    "INSERT INTO bot_chat_settings VALUES (1001, 'science', 'ru', 'karaoke', '09:30', '2026-11-24')",
    "INSERT INTO hf_tokens VALUES ('k1', '…1111', '2026-11', 12, 0.024, 'exhausted', NULL, '2026-11-23 08:00:00', "
    "NULL, NULL, 1, 0, 0, 10, 1)",
    "INSERT INTO ab_tests VALUES (1, 'yt-1', '/out/tides', 1001, 3, '2026-11-20 11:00:00', 24, 7, 0, 'running', 1, "
    "NULL, NULL, NULL)",
    "INSERT INTO ab_slots VALUES (1, 1, 1, '2026-11-20 11:00:00', '2026-11-21 08:00:00', 10, 50)",
    "INSERT INTO ab_days VALUES (1, 1, '2026-11-20', 1500, 0.05)",
]


def _release_0_1(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(RELEASE_0_1)
        for row in ROWS:
            db.execute(row)


def test_a_database_of_release_0_1_upgrades_in_place_and_keeps_jobs_settings_tokens_and_tests(tmp_path: Path):
    path = tmp_path / "videofactory.db"
    _release_0_1(path)
    store = Store(f"sqlite:///{path}")
    assert current_revision(store.engine) == newest_revision()
    book = JobBook(store)
    tides, comets, storms, volcanoes = book.find()
    # The finished bot job joined the engine's row of the same folder: one job, not two.
    assert (tides.state, tides.origin, tides.chat_id, tides.message_id) == ("done", "telegram", 1001, 55)
    assert tides.delivered == ["thumbnails", "video.mp4", "exports/shorts.mp4"] and tides.thumbnail == 2
    assert tides.video_seconds == 61.5 and store.stage_runs(int(tides.id))[0].stage == "render"
    assert (comets.state, comets.error) == ("failed", "interrupted")  # a CLI run the old release left running
    assert storms.state == "paused" and storms.resume_after.year == 2026 and request_of(storms).topic == "Storms"
    # The bot job that was running is queued again: the bot takes it up at its next start.
    assert (volcanoes.state, volcanoes.origin, volcanoes.chat_id, volcanoes.delivered) == (
        JobState.QUEUED, "telegram", 1002, ["thumbnails"])
    assert book.find(states=[JobState.QUEUED], origin="telegram") == [volcanoes]
    settings = store.get(ChatSettings, 1001)
    assert (settings.preset, settings.language, settings.caption_style, settings.stats_time) == (
        "science", "ru", "karaoke", "09:30")
    ledger = store.get(TokenLedger, "k1")
    assert (ledger.state, ledger.calls, ledger.images_ok) == ("exhausted", 12, 10)
    # A test running under the old design (time slots, views per hour) is stopped, not judged.
    old_test = store.get(ABTest, 1)
    assert (old_test.video_id, old_test.state, old_test.decided_by, old_test.approved) == ("yt-1", "stopped", "upgrade", 1)
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"bot_jobs", "paused_jobs", "ab_slots", "ab_days"} and "ab_schedule" in tables


def test_the_migrated_schema_is_exactly_the_models(tmp_path: Path):
    for name, prepare in (("new.db", lambda path: None), ("old.db", _release_0_1)):
        prepare(tmp_path / name)
        store = Store(f"sqlite:///{tmp_path / name}")
        with store.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert differences == [], name


def test_a_database_older_than_0_1_gains_the_columns_added_since(tmp_path: Path):
    path = tmp_path / "older.db"
    with sqlite3.connect(path) as db:  # the jobs table as the first version made it
        db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, slug VARCHAR NOT NULL, topic VARCHAR NOT NULL, "
                   "preset VARCHAR NOT NULL, status VARCHAR NOT NULL, created DATETIME NOT NULL, "
                   "finished DATETIME, folder VARCHAR NOT NULL, error VARCHAR)")
        db.execute("INSERT INTO jobs VALUES (1, 'tides', 'Tides', 'science', 'done', '2026-01-01 00:00:00', NULL, "
                   "'out/tides', NULL)")
    store = Store(f"sqlite:///{path}")
    [old] = JobBook(store).find()
    assert (old.topic, old.state, old.video_seconds) == ("Tides", "done", None)
    store.add(Job(slug="comets", topic="Comets", preset="science", video_seconds=61.5))
    assert [job.video_seconds for job in JobBook(store).find()] == [None, 61.5]
    Store(f"sqlite:///{path}")  # opening it again changes nothing
    assert json.loads(json.dumps([job.delivered for job in JobBook(store).find()])) == [[], []]
