"""Content-addressed cache of stage results; every entry appears atomically or not at all."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter

from engine.errors import DiskFullError, OutputError
from engine.processes import process_is_gone, this_process

T = TypeVar("T")
log = logging.getLogger(__name__)
RESULT_FILE = "result.json"
CLAIM_STALE_SECONDS = 900.0  # a claim from another machine older than this is taken to be its holder's death
CLAIM_POLL_SECONDS = 0.2


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, so a file input is keyed by content, not by name."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(stage: str, version: int, inputs: Any) -> str:
    """Key of one result: stage name, stage version and the canonical JSON of its inputs."""
    canonical = json.dumps(
        {"stage": stage, "version": version, "inputs": inputs},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@contextmanager
def translate_os_errors(what: str) -> Iterator[None]:
    """Turn a full disk or a refused write into our own errors, naming what was written."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DiskFullError(f"disk full while writing {what}") from None
        raise OutputError(f"cannot write {what}: {error.strerror or error}") from None


def check_writable(folder: Path) -> None:
    """Fail before any work if `folder` cannot be created or written."""
    with translate_os_errors(str(folder)):
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"ok")
        probe.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file through a temporary name and a rename, so no half file is ever seen."""
    with translate_os_errors(str(path)):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of `atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode())


FILES_FILE = "files.json"  # every file of an entry with its size and SHA-256, checked before the entry is used
ENTRY_MARK = "@entry"  # how a stored result names its entry's folder: entries move with the data dir


def _files_of(folder: Path) -> dict[str, list]:
    """Each file in an entry folder (by name within it) with its size and digest."""
    listed = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in (RESULT_FILE, FILES_FILE):
            listed[path.relative_to(folder).as_posix()] = [path.stat().st_size, file_digest(path)]
    return listed


def _intact(folder: Path) -> bool:
    """Whether every file an entry recorded is there with its size and digest."""
    try:
        listed = json.loads((folder / FILES_FILE).read_text(encoding="utf-8"))
        for name, (size, digest) in listed.items():
            path = folder / name
            if path.stat().st_size != size or file_digest(path) != digest:
                return False
    except (OSError, ValueError, TypeError):
        return False
    return True


def _rerooted(value: Any, old: str, new: str) -> Any:
    """`value` (plain JSON data) with every path string under `old` moved under `new`."""
    if isinstance(value, str):
        return new + value[len(old):] if value == old or value.startswith(old + "/") else value
    if isinstance(value, list):
        return [_rerooted(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _rerooted(item, old, new) for key, item in value.items()}
    return value


class Cache:
    """Folders keyed by content hash; a folder exists only once its result is complete, and is used only intact.

    A result names its files relative to its entry, so a data dir that is moved or restored elsewhere
    keeps its cache; each file's size and digest are recorded, so a truncated or altered file is found
    before it is used, and its entry is made again.
    """

    def __init__(self, root: Path, read: bool = True) -> None:
        self.root = root
        self.read = read  # False for --fresh: recompute everything, still store the results
        self.made = 0  # entries this object computed (not found): a stage reads it to say whether it did work

    def _folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def lookup(self, key: str) -> Path | None:
        """The folder of a finished, intact entry, or None when absent, damaged or reading is off."""
        folder = self._folder(key)
        if not self.read or not (folder / RESULT_FILE).is_file():
            return None
        if not (folder / FILES_FILE).is_file():
            log.info("cache entry %s predates file checks; making it again", key[:12])
            return None
        if not _intact(folder):
            log.warning("cache entry %s is damaged (a file is missing, truncated or changed); making it again", key[:12])
            return None
        try:
            os.utime(folder / RESULT_FILE)  # last used now: the clean-up removes what is unused longest
        except OSError:
            pass
        return folder

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """A scratch folder that becomes the entry for `key` when the block ends cleanly."""
        final = self._folder(key)
        with translate_os_errors(f"the cache in {self.root}"):
            final.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key[:12]}."))
        try:
            yield scratch
            with translate_os_errors(f"the cache in {self.root}"):
                (scratch / FILES_FILE).write_text(json.dumps(_files_of(scratch)), encoding="utf-8")
                self._install(scratch, final)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)

    def _install(self, scratch: Path, final: Path) -> None:
        """Make `scratch` the entry, unless another writer (another thread, process or machine) got there first.

        The same key is the same result, so the first intact entry wins and is never removed under a
        reader. A damaged one, or any one when asked afresh (`--fresh`), is first renamed aside, so the
        entry appears or is replaced in one rename.
        """
        if self.read and (final / RESULT_FILE).is_file() and _intact(final):
            return
        if final.exists():
            aside = final.with_name(f".{final.name}.damaged.{os.getpid()}.{threading.get_ident()}")
            try:
                os.replace(final, aside)
            except FileNotFoundError:
                pass  # another writer moved it first
            shutil.rmtree(aside, ignore_errors=True)
        try:
            os.replace(scratch, final)
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            log.info("cache entry %s was written by another worker at the same time; keeping theirs", final.name[:12])

    def remember_shared(self, key: str, result_type: type[T], compute: Callable[[Path], T],
                        stale_seconds: float = CLAIM_STALE_SECONDS) -> tuple[T, bool]:
        """`remember`, where other processes may be making the same entry: wait for theirs rather than make it twice.

        Whoever makes an entry holds a claim on its key (a file that appears whole, naming its process and
        when it started). A claim whose process has ended on this machine, or older than `stale_seconds`, is broken.
        """
        adapter = TypeAdapter(result_type)
        while True:
            found = self._stored(key, adapter)
            if found is not None:
                return found, True
            claim = self._claim(key)
            if claim is not None:
                try:
                    return self.remember(key, result_type, compute)
                finally:
                    claim.unlink(missing_ok=True)
            self._break_if_stale(key, stale_seconds)
            time.sleep(CLAIM_POLL_SECONDS)

    def _claim_path(self, key: str) -> Path:
        return self.root / "claims" / key

    def _claim(self, key: str) -> Path | None:
        path = self._claim_path(key)
        with translate_os_errors(f"the cache in {self.root}"):
            path.parent.mkdir(parents=True, exist_ok=True)
            # The claim appears with its holder's name in it, by a hard link to a file already written:
            # made empty and then written, a holder killed in between left a claim nobody could judge.
            fd, written = tempfile.mkstemp(dir=path.parent, prefix=".claim.")
            try:
                with os.fdopen(fd, "w") as claim:
                    claim.write(this_process())
                os.link(written, path)
            except FileExistsError:
                return None
            finally:
                os.unlink(written)
        return path

    def _break_if_stale(self, key: str, stale_seconds: float) -> None:
        path = self._claim_path(key)
        try:
            holder, age = path.read_text().strip(), time.time() - path.stat().st_mtime
        except OSError:
            return  # released meanwhile
        if process_is_gone(holder) or age > stale_seconds:
            log.info("claim on cache entry %s by %s is stale; breaking it", key[:12], holder or "nobody")
            path.unlink(missing_ok=True)

    def remember(self, key: str, result_type: type[T], compute: Callable[[Path], T]) -> tuple[T, bool]:
        """Return (result, was_cached); `compute` writes its files into the folder it is given."""
        adapter = TypeAdapter(result_type)
        found = self._stored(key, adapter)
        if found is not None:
            return found, True
        with self.writing(key) as scratch:
            result = compute(scratch)
            self.made += 1
            stored = _rerooted(adapter.dump_python(result, mode="json"), str(scratch), ENTRY_MARK)
            with translate_os_errors(f"the cache in {self.root}"):
                (scratch / RESULT_FILE).write_text(json.dumps(stored, indent=1), encoding="utf-8")
        return adapter.validate_python(_rerooted(stored, ENTRY_MARK, str(self._folder(key)))), False

    def _stored(self, key: str, adapter: TypeAdapter[T]) -> T | None:
        """The result of a finished, intact entry; None when there is none (or it is of an older layout)."""
        folder = self.lookup(key)
        if folder is None:
            return None
        try:
            stored = json.loads((folder / RESULT_FILE).read_bytes())
            return adapter.validate_python(_rerooted(stored, ENTRY_MARK, str(folder)))
        except ValueError:
            return None  # an entry from an older layout: recompute it
