"""Housekeeping: killed runs' leftovers swept, the cache pruned by age and size, inputs released; never what a waiting job needs."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from engine import housekeeping
from engine.cache import Cache, cache_key
from engine.errors import InputError
from engine.jobs import INTERRUPTED, Done, Failed, JobBook, JobState, Origin, Paused
from engine.models import Artefacts, JobRequest
from engine.presets import load_preset
from engine.store import open_store, utcnow
from tests.conftest import run_cli

DAY = 24 * 3600


def _entry(cache: Cache, name: str, size: int, days_ago: float) -> Path:
    path, _ = cache.remember(cache_key("t", 1, {"name": name}), Path, lambda folder: _write(folder / "f.bin", size))
    when = time.time() - days_ago * DAY
    os.utime(path.parent / "result.json", (when, when))
    return path.parent


def _write(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def _job(book: JobBook, settings, topic: str, script: Path | None = None):
    request = JobRequest(topic=topic, preset="science", script_file=script)
    return book.create(request, load_preset("science", None), topic.lower(), Origin(), settings.output_dir)


def _dead_worker() -> str:
    import socket

    process = subprocess.Popen(["true"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}"


def test_sizes_and_ages_are_read_as_people_write_them():
    assert housekeeping.parse_size("20G") == 20 * 1024**3 and housekeeping.parse_size("500m") == 500 * 1024**2
    assert housekeeping.parse_age("30d") == timedelta(days=30) and housekeeping.parse_age("12h") == timedelta(hours=12)
    with pytest.raises(InputError, match="'twenty' is not a size"):
        housekeeping.parse_size("twenty")
    with pytest.raises(InputError, match="is not an age"):
        housekeeping.parse_age("-3d")


def test_pruning_removes_the_unused_and_the_least_recently_used_but_never_what_a_waiting_job_may_need(settings):
    book = JobBook(open_store(settings))
    cache = Cache(settings.cache_dir)
    ancient, old, recent = _entry(cache, "a", 1000, 40), _entry(cache, "b", 1000, 10), _entry(cache, "c", 1000, 0.1)
    pruned = housekeeping.prune_cache(settings.cache_dir, book, timedelta(days=30), None)
    assert pruned.entries == 1 and 1000 < pruned.freed < 1500 and not ancient.exists() and old.exists()
    waiting = _job(book, settings, "Tides")  # queued: it may look up any entry
    assert housekeeping.prune_cache(settings.cache_dir, book, None, 0) == housekeeping.Pruned(0, 0, 2)
    book.start(waiting.id)
    book.end(waiting.id, Paused("tokens", None))  # paused now: it needs only what it used since it was made
    os.utime(recent / "result.json")  # as its run looked it up
    pruned = housekeeping.prune_cache(settings.cache_dir, book, None, 0)
    assert (pruned.entries, pruned.kept_for_jobs) == (1, 1) and not old.exists() and recent.exists()
    book.cancel(waiting.id)
    assert housekeeping.prune_cache(settings.cache_dir, book, None, 0).entries == 1 and not recent.exists()


def test_a_used_entry_counts_as_recent(settings):
    cache = Cache(settings.cache_dir)
    folder = _entry(cache, "a", 10, 40)
    cache.lookup(folder.name)  # used now
    assert housekeeping.prune_cache(settings.cache_dir, JobBook(open_store(settings)), timedelta(days=30), None).entries == 0


def test_leftovers_of_killed_runs_are_swept_and_interrupted_jobs_paused(settings):
    book = JobBook(open_store(settings))
    stale = settings.cache_dir / "ab" / ".abcdef123456.x1"
    fresh = settings.cache_dir / "ab" / ".abcdef123456.x2"
    for scratch in (stale, fresh):
        scratch.mkdir(parents=True)
    os.utime(stale, (time.time() - DAY, time.time() - DAY))
    half_claim = settings.cache_dir / "claims" / ".claim.k1"  # its holder was killed as it made the claim
    half_claim.parent.mkdir(parents=True)
    half_claim.write_text("host:1/2.00")
    os.utime(half_claim, (time.time() - DAY, time.time() - DAY))
    ended, paused = _job(book, settings, "Done"), _job(book, settings, "Storms")
    for job in (ended, paused):
        (settings.data_dir / "work" / Path(job.folder).name).mkdir(parents=True)
        Path(job.folder).mkdir(parents=True)
        (Path(job.folder) / ".video.part.mp4").write_bytes(b"half")
    os.utime(Path(ended.folder) / ".video.part.mp4", (time.time() - DAY, time.time() - DAY))
    writing = Path(ended.folder) / ".job.json.x3.part"  # publishing rewrites job.json after the job has ended
    writing.write_bytes(b"{")
    book.start(ended.id)
    book.end(ended.id, Failed("broken"))
    killed = _job(book, settings, "Comets")
    book.start(killed.id)
    book._set(killed.id, None, worker=_dead_worker())
    assert housekeeping.sweep_scratch(settings, book) == 4
    assert not stale.exists() and fresh.exists() and not half_claim.exists()  # a write under way keeps its scratch
    assert not (settings.data_dir / "work" / Path(ended.folder).name).exists()
    assert not (Path(ended.folder) / ".video.part.mp4").exists() and (Path(paused.folder) / ".video.part.mp4").exists()
    assert writing.exists()  # a write under way keeps its partial file
    [marked] = book.pause_interrupted("cli")
    assert (marked.id, marked.state, marked.error) == (killed.id, JobState.PAUSED, INTERRUPTED)


def test_own_input_copies_go_when_their_job_ends_and_a_failed_one_keeps_them_a_while(settings, tmp_path: Path):
    book = JobBook(open_store(settings))
    inputs = settings.data_dir / "bot" / "inputs" / "7"
    inputs.mkdir(parents=True)
    done_copy, failed_copy, users_own = inputs / "a.txt", inputs / "b.txt", tmp_path / "mine.txt"
    for path in (done_copy, failed_copy, users_own):
        path.write_text("The Night Train\n\nThe last train left at midnight.\n")
    done, failed, outside = (_job(book, settings, name, path) for name, path in
                             (("A", done_copy), ("B", failed_copy), ("C", users_own)))
    artefacts = Artefacts(tmp_path, tmp_path / "v.mp4", (), (), tmp_path, tmp_path)
    for job, outcome in ((done, Done(artefacts)), (failed, Failed("no")), (outside, Done(artefacts))):
        book.start(job.id)
        book.end(job.id, outcome)
    keep = timedelta(days=7)
    assert housekeeping.release_inputs(book, settings.data_dir, keep, utcnow()) == 1
    assert not done_copy.exists() and failed_copy.exists() and users_own.exists()  # never a file of the user's
    assert housekeeping.release_inputs(book, settings.data_dir, keep, utcnow() + timedelta(days=8)) == 1
    assert not failed_copy.exists() and users_own.exists()


def test_the_cache_command_shows_and_prunes(cli_env, tmp_path: Path):
    cache = Cache(tmp_path / "data" / "cache")
    for name, days in (("a", 40), ("b", 1)):
        _entry(cache, name, 2 * 2**20, days)
    status = run_cli(["cache"], cli_env, tmp_path)
    assert status.returncode == 0 and "2 entries, 4 MB" in status.stdout
    pruned = run_cli(["cache", "prune", "--older-than", "30d"], cli_env, tmp_path)
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed 1 cache entries (2 MB)")
    assert "1 entries, 2 MB" in run_cli(["cache", "status"], cli_env, tmp_path).stdout
    bad = run_cli(["cache", "prune", "--max-size", "lots"], cli_env, tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: 'lots' is not a size such as 20G or 500M"
