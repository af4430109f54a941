"""Housekeeping: what killed runs leave behind, and the cache and inputs kept only as long as they are needed.

Nothing a queued, running or paused job needs is ever removed. A queued or running job may still look up
any entry, so while one exists nothing is pruned; a paused job has looked up (or made) every entry it
needs since it was created, so entries last used before the oldest paused job may go.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from engine.cache import RESULT_FILE
from engine.config import Settings
from engine.errors import InputError
from engine.jobs import ACTIVE, FINAL, JobBook, JobState, request_of
from engine.store import as_utc
from engine.tables import Job

log = logging.getLogger(__name__)

SCRATCH_AGE = timedelta(hours=6)  # a scratch folder or partial file this old belongs to a write that was killed
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?", re.IGNORECASE)
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([hdw])", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One cache entry: its folder, its size and when it was last used."""

    folder: Path
    size: int
    used: float  # seconds since the epoch


@dataclass(frozen=True)
class Pruned:
    """What a clean-up removed."""

    entries: int
    freed: int
    kept_for_jobs: int  # entries old enough to go, kept because a waiting job may need them


def parse_size(text: str) -> int:
    """Bytes from "20G", "500M", "1.5T" (powers of 1024); an InputError for anything else."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise InputError(f"'{text}' is not a size such as 20G or 500M")
    return int(float(match.group(1)) * 1024 ** " kmgt".index((match.group(2) or " ").lower()))


def parse_age(text: str) -> timedelta:
    """A span from "30d", "12h" or "2w"; an InputError for anything else."""
    match = _AGE.fullmatch(text.strip())
    if not match:
        raise InputError(f"'{text}' is not an age such as 30d, 12h or 2w")
    unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(2).lower()]
    return timedelta(**{unit: float(match.group(1))})


def _size_of(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def entries(cache_dir: Path) -> list[Entry]:
    """Every finished cache entry, least recently used first."""
    found = []
    for result in cache_dir.glob(f"??/*/{RESULT_FILE}"):
        try:
            found.append(Entry(result.parent, _size_of(result.parent), result.stat().st_mtime))
        except OSError:
            continue  # removed meanwhile
    return sorted(found, key=lambda entry: entry.used)


def protected_since(book: JobBook) -> float | None:
    """Entries used since this moment may be needed by a waiting job (None: no job waits)."""
    waiting = book.find(states=ACTIVE)
    if any(job.state != JobState.PAUSED for job in waiting):
        return float("-inf")  # a queued or running job may look up any entry
    return min(as_utc(job.created).timestamp() for job in waiting) if waiting else None


def prune_cache(cache_dir: Path, book: JobBook, older_than: timedelta | None, max_bytes: int | None) -> Pruned:
    """Remove entries unused for `older_than`, then the least recently used until under `max_bytes`."""
    listed, guard = entries(cache_dir), protected_since(book)
    total, removed, freed, kept = sum(entry.size for entry in listed), 0, 0, 0
    cutoff = time.time() - older_than.total_seconds() if older_than is not None else None
    for entry in listed:
        too_old = cutoff is not None and entry.used < cutoff
        too_big = max_bytes is not None and total > max_bytes
        if not (too_old or too_big):
            continue
        if guard is not None and entry.used >= guard:
            kept += 1
            continue
        shutil.rmtree(entry.folder, ignore_errors=True)
        removed, freed, total = removed + 1, freed + entry.size, total - entry.size
    return Pruned(removed, freed, kept)


def _older_than(path: Path, moment: float) -> bool:
    """Whether `path` was last changed before `moment` (a path gone meanwhile is not: its writer renamed it)."""
    try:
        return path.stat().st_mtime < moment
    except FileNotFoundError:
        return False


def sweep_scratch(settings: Settings, book: JobBook) -> int:
    """Remove what killed runs left: cache writes never finished, work folders and partial files of ended jobs."""
    swept = 0
    stale = time.time() - SCRATCH_AGE.total_seconds()
    for scratch in settings.cache_dir.glob("??/.*"):
        if scratch.is_dir() and _older_than(scratch, stale):
            shutil.rmtree(scratch, ignore_errors=True)
            swept += 1
    for unlinked in settings.cache_dir.glob("claims/.claim.*"):  # a claim's holder killed as it made the claim
        if _older_than(unlinked, stale):
            unlinked.unlink(missing_ok=True)
            swept += 1
    for job in book.find(states=FINAL):
        folder = Path(job.folder) if job.folder else None
        work = settings.data_dir / "work" / folder.name if folder else None
        if work is not None and work.is_dir():
            shutil.rmtree(work, ignore_errors=True)
            swept += 1
        for partial in folder.glob(".*") if folder is not None and folder.is_dir() else ():
            # A fresh one is a write under way after the job ended: publishing or an approval rewriting job.json.
            if not _older_than(partial, stale):
                continue
            partial.unlink(missing_ok=True) if partial.is_file() else shutil.rmtree(partial, ignore_errors=True)
            swept += 1
    return swept


def own_inputs(job: Job, data_dir: Path) -> list[Path]:
    """The job's input files that are its own copies (a front end kept them in the data dir for it)."""
    request = request_of(job)
    files = [path for path in (request.script_file, request.voiceover) if path is not None]
    return [path for path in files if path.resolve().is_relative_to(data_dir.resolve())]


def release_inputs(book: JobBook, data_dir: Path, keep_failed: timedelta, now: datetime) -> int:
    """Remove the own input copies of jobs done or cancelled, and of jobs failed longer ago than `keep_failed`."""
    removed = 0
    for job in book.find(states=FINAL):
        finished = as_utc(job.finished) or as_utc(job.created)
        if job.state == JobState.FAILED and now - finished < keep_failed:
            continue  # kept, so the job can be tried again
        for path in own_inputs(job, data_dir):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def tidy(settings: Settings, book: JobBook, now: datetime) -> None:
    """The automatic part, after each job: scratch, released inputs, and the cache under VF_CACHE_MAX_GB."""
    sweep_scratch(settings, book)
    release_inputs(book, settings.data_dir, timedelta(days=settings.keep_failed_inputs_days), now)
    if settings.cache_max_gb is not None:
        pruned = prune_cache(settings.cache_dir, book, None, int(settings.cache_max_gb * 1024**3))
        if pruned.entries:
            log.info("cache over %.1f GB: %d entries removed (%.0f MB)", settings.cache_max_gb, pruned.entries,
                     pruned.freed / 2**20)
