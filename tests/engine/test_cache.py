import errno
from pathlib import Path

import pytest

from engine.cache import Cache, atomic_write_bytes, cache_key
from engine.errors import DiskFullError


def test_key_depends_on_stage_version_and_canonical_inputs():
    assert cache_key("s", 1, {"a": 1, "b": 2}) == cache_key("s", 1, {"b": 2, "a": 1})
    assert cache_key("s", 1, {"a": 1}) != cache_key("s", 2, {"a": 1})
    assert cache_key("s", 1, {"a": 1}) != cache_key("t", 1, {"a": 1})


def test_remember_computes_once_and_relocates_files(tmp_path: Path):
    cache = Cache(tmp_path)
    calls = []

    def compute(folder: Path) -> str:
        calls.append(folder)
        (folder / "x.txt").write_text("hi")
        return str(folder / "x.txt")

    key = cache_key("t", 1, {})
    first, cached_first = cache.remember(key, str, compute, relocate=lambda r, old, new: str(new / "x.txt"))
    second, cached_second = cache.remember(key, str, compute)
    assert (cached_first, cached_second) == (False, True)
    assert len(calls) == 1
    assert first == second and Path(second).read_text() == "hi"


def test_failed_compute_leaves_no_entry(tmp_path: Path):
    cache = Cache(tmp_path)
    key = cache_key("t", 1, {})

    def broken(folder: Path) -> str:
        (folder / "half").write_text("partial")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.remember(key, str, broken)
    assert cache.lookup(key) is None
    assert not any(p.name == "half" for p in tmp_path.rglob("*"))


def test_fresh_cache_recomputes(tmp_path: Path):
    key = cache_key("t", 1, {})
    Cache(tmp_path).remember(key, int, lambda folder: 1)
    value, cached = Cache(tmp_path, read=False).remember(key, int, lambda folder: 2)
    assert (value, cached) == (2, False)
    assert Cache(tmp_path).remember(key, int, lambda folder: 3) == (2, True)


def test_full_disk_becomes_disk_full_error_and_leaves_no_file(tmp_path: Path, monkeypatch):
    import os

    def no_space(fd, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", no_space)
    target = tmp_path / "video.json"
    with pytest.raises(DiskFullError, match="disk full"):
        atomic_write_bytes(target, b"{}")
    assert list(tmp_path.iterdir()) == []
