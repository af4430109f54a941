import errno
import shutil
from pathlib import Path

import pytest

from engine.cache import Cache, atomic_write_bytes, cache_key
from engine.errors import DiskFullError


def test_key_depends_on_stage_version_and_canonical_inputs():
    assert cache_key("s", 1, {"a": 1, "b": 2}) == cache_key("s", 1, {"b": 2, "a": 1})
    assert cache_key("s", 1, {"a": 1}) != cache_key("s", 2, {"a": 1})
    assert cache_key("s", 1, {"a": 1}) != cache_key("t", 1, {"a": 1})


class Writes:
    """A compute that writes one file and names it by path, counting its calls."""

    def __init__(self, text: str = "hello, cache") -> None:
        self.text, self.calls = text, 0

    def __call__(self, folder: Path) -> Path:
        self.calls += 1
        (folder / "x.txt").write_text(self.text)
        return folder / "x.txt"


def test_remember_computes_once_and_names_files_relative_to_the_entry(tmp_path: Path):
    cache, compute = Cache(tmp_path), Writes()
    key = cache_key("t", 1, {})
    first, cached_first = cache.remember(key, Path, compute)
    second, cached_second = cache.remember(key, Path, compute)
    assert (cached_first, cached_second, compute.calls) == (False, True, 1)
    assert first == second and second.read_text() == "hello, cache" and second.parent.name == key
    assert (second.parent / "result.json").read_text() == '"@entry/x.txt"'  # no absolute path is stored


def test_a_moved_data_dir_keeps_its_cache(tmp_path: Path):
    key = cache_key("t", 1, {})
    Cache(tmp_path / "old").remember(key, Path, Writes())
    shutil.move(tmp_path / "old", tmp_path / "restored")
    compute = Writes()
    path, cached = Cache(tmp_path / "restored").remember(key, Path, compute)
    assert cached and compute.calls == 0
    assert path.is_relative_to(tmp_path / "restored") and path.read_text() == "hello, cache"


@pytest.mark.parametrize("damage", ["truncated", "changed", "missing"])
def test_a_damaged_entry_is_made_again_not_used(tmp_path: Path, damage: str, caplog):
    cache, key = Cache(tmp_path), cache_key("t", 1, {})
    path, _ = cache.remember(key, Path, Writes())
    if damage == "truncated":
        path.write_text("hello")
    elif damage == "changed":
        path.write_text("HELLO, CACHE")  # same size, other bytes
    else:
        path.unlink()
    compute = Writes()
    again, cached = cache.remember(key, Path, compute)
    assert (cached, compute.calls) == (False, 1) and again.read_text() == "hello, cache"
    assert "is damaged" in caplog.text
    assert cache.remember(key, Path, Writes()) == (again, True)  # and the new entry is used again


def test_an_entry_of_an_older_layout_is_made_again(tmp_path: Path):
    cache, key = Cache(tmp_path), cache_key("t", 1, {})
    path, _ = cache.remember(key, Path, Writes())
    (path.parent / "files.json").unlink()  # as release 0.1 wrote its entries
    compute = Writes()
    assert cache.remember(key, Path, compute)[1] is False and compute.calls == 1


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


def test_workers_writing_one_key_at_once_all_succeed_and_leave_one_intact_entry(tmp_path: Path):
    # Two workers on a shared cache may compute the same entry at once: the first wins, nobody fails.
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    start = threading.Barrier(6)

    def compute(folder: Path) -> Path:
        start.wait()
        (folder / "speech.wav").write_bytes(b"RIFF" + b"\0" * 4000)
        time.sleep(0.05)
        return folder / "speech.wav"

    def one(_: int) -> tuple[Path, bool]:
        return Cache(tmp_path / "shared").remember("k" * 64, Path, compute)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    assert {path for path, _ in results} == {tmp_path / "shared" / "kk" / ("k" * 64) / "speech.wav"}
    assert all(path.read_bytes().startswith(b"RIFF") for path, _ in results)
    again, cached = one(0)
    assert cached and again.stat().st_size == 4004
    leftovers = [p.name for p in (tmp_path / "shared" / "kk").iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no scratch folder left behind


def _claim_file(cache: Cache, key: str, holder: str) -> Path:
    claim = cache.root / "claims" / key
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_text(holder)
    return claim


def _within(seconds: float, call):  # noqa: ANN001, ANN202
    """`call()`'s answer, failing (not hanging) if it takes longer than `seconds`."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


def test_a_claim_whose_holder_is_gone_is_broken_at_once_and_a_live_ones_is_waited_for(tmp_path: Path):
    import os
    import socket
    import threading

    import psutil

    from engine.processes import this_process

    cache = Cache(tmp_path)
    started = psutil.Process(os.getpid()).create_time()
    # Left empty by a holder killed as it made the claim (a CI run waited 600 s on one); and our own pid, but
    # recorded with an earlier start: a process that died and whose pid the system gave to this one.
    for key, holder in (("empty", ""), ("reused", f"{socket.gethostname()}:{os.getpid()}/{started - 60:.2f}")):
        _claim_file(cache, key, holder)
        compute = Writes(key)
        result, cached = _within(10, lambda: cache.remember_shared(key, Path, compute, stale_seconds=3600))
        assert (result.read_text(), cached, compute.calls) == (key, False, 1)
        assert not (cache.root / "claims" / key).exists()
    live = _claim_file(cache, "live", this_process())
    compute, answers = Writes("theirs"), []
    waiter = threading.Thread(target=lambda: answers.append(cache.remember_shared("live", Path, compute, 3600)))
    waiter.start()
    waiter.join(timeout=1.0)
    assert waiter.is_alive() and compute.calls == 0  # its holder is alive: its entry is waited for
    live.unlink()  # released without an entry (its holder failed): the waiter makes it
    waiter.join(timeout=30)
    assert compute.calls == 1 and answers[0][0].read_text() == "theirs"
    assert list((cache.root / "claims").iterdir()) == []  # no claim or half-made claim is left behind
