"""Content-addressed cache of stage results; every entry appears atomically or not at all."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter

from engine.errors import DiskFullError, OutputError

T = TypeVar("T")
RESULT_FILE = "result.json"


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


class Cache:
    """Folders keyed by content hash; a folder exists only once its result is complete."""

    def __init__(self, root: Path, read: bool = True) -> None:
        self.root = root
        self.read = read  # False for --fresh: recompute everything, still store the results

    def _folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def lookup(self, key: str) -> Path | None:
        """The folder of a finished entry, or None when absent or reading is off."""
        folder = self._folder(key)
        if self.read and (folder / RESULT_FILE).is_file():
            return folder
        return None

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
                if final.exists():
                    shutil.rmtree(final)
                os.replace(scratch, final)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)

    def remember(
        self,
        key: str,
        result_type: type[T],
        compute: Callable[[Path], T],
        relocate: Callable[[T, Path, Path], T] | None = None,
    ) -> tuple[T, bool]:
        """Return (result, was_cached); `compute` writes its files into the folder it is given.

        Results name files by absolute path; `relocate` rewrites paths from the scratch
        folder to the final one before the result is stored.
        """
        adapter = TypeAdapter(result_type)
        folder = self.lookup(key)
        if folder is not None:
            try:
                return adapter.validate_json((folder / RESULT_FILE).read_bytes()), True
            except ValueError:
                pass  # an entry from an older layout: recompute it
        with self.writing(key) as scratch:
            result = compute(scratch)
            stored = relocate(result, scratch, self._folder(key)) if relocate else result
            with translate_os_errors(f"the cache in {self.root}"):
                (scratch / RESULT_FILE).write_bytes(adapter.dump_json(stored, indent=1))
        return stored, False


def moved(path: Path, old_root: Path, new_root: Path) -> Path:
    """`path` re-rooted from a scratch folder to its final cache folder."""
    return new_root / path.relative_to(old_root)
