"""Jobs on a real queue: two `videofactory worker` processes on a real Redis, one killed in the middle of a render."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from engine.config import load_settings
from engine.jobs import Done, JobBook, JobState
from engine.media import probe
from engine.processes import parse_holder
from engine.queue_runner import QueueRunner
from engine.runner import JobEnded
from engine.store import Store
from tests.conftest import isolated_env, run_cli, start_worker


def _midway(book: JobBook, stage: str, timeout: float):
    """A running job with at least one item of `stage` done and more to go."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in book.find(states=[JobState.RUNNING]):
            if job.stage == stage and job.lease_until is not None and 1 <= job.stage_done < job.stage_total:
                return job
        time.sleep(0.05)
    raise AssertionError(f"no job was in the middle of {stage} within {timeout} s")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_worker_killed_mid_render_loses_no_job(redis_url: str, tmp_path: Path, database: str, request):
    env = isolated_env(tmp_path) | {"VF_BROKER_URL": redis_url, "VF_LEASE_SECONDS": "6"}
    if database == "postgresql":
        env["VF_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", broker_url=redis_url,
                             database_url=env.get("VF_DATABASE_URL"))
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.resolved_database_url)
    followed = QueueRunner(settings, store, "cli")
    ended: list[JobEnded] = []
    followed.subscribe(lambda event: ended.append(event) if isinstance(event, JobEnded) else None)
    workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        ids = []
        for n, topic in enumerate(("Lighthouses", "Tides", "Harbours")):
            script = tmp_path / f"s{n}.txt"
            script.write_text("\n\n".join(f"{topic} shaped the coast, part {n}. Sailors trusted them on dark nights."
                                            for n in range(1, 6)))
            submitted = run_cli(["submit", topic, "--preset", "science", "--script-file", str(script),
                                 "--export", "youtube"], env, tmp_path)
            assert submitted.returncode == 0, submitted.stderr
            ids.append(int(submitted.stdout.strip()))
        victim = _midway(JobBook(store), "render", 240)
        killed = next(w for w in workers if parse_holder(victim.worker)[1] == w.pid)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(10)
        for job_id in ids:
            waited = run_cli(["wait", str(job_id)], env, tmp_path, timeout=240)
            assert waited.returncode == 0, (waited.stderr, (tmp_path / "worker-1.log").read_text()[-3000:])
        time.sleep(2.5)  # the watcher's last look
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(30)
        followed.shutdown()
    book = JobBook(store)
    for job_id in ids:
        job = book.get(job_id)
        assert job.state == JobState.DONE and job.lease_until is None
        info = probe(Path(job.folder) / "video.mp4")
        assert info.video_codec == "h264" and info.duration > 3
    again = book.get(int(victim.id))
    assert again.attempts == 2  # taken over once, by the other worker
    second = {run.stage: run for run in store.stage_runs(int(victim.id))}  # the last run of each stage
    assert second["voice"].items_cached == second["voice"].items_total > 0  # the narration from the shared cache
    assert second["render"].items_cached >= 1  # and the segments the killed worker had finished
    done = sorted(event.job_id for event in ended if isinstance(event.outcome, Done))
    assert done == sorted(ids)  # each job ended once: nothing delivered twice


def _frames_digest(video: Path) -> str:
    from engine.media import run_ffmpeg

    out = video.with_suffix(".md5")
    run_ffmpeg(["-i", str(video), "-map", "0:v", "-f", "md5", str(out)], what="frame digest")
    return out.read_text().strip()


def test_a_long_videos_segments_are_shared_between_workers_and_it_is_the_same_video(redis_url: str, tmp_path: Path):
    script = tmp_path / "long.txt"
    script.write_text("\n\n".join(f"Part {n}. The keepers climbed the stairs and lit the lamp again tonight."
                                  for n in range(1, 9)))
    queued = tmp_path / "queued"
    env = isolated_env(queued) | {"VF_BROKER_URL": redis_url, "VF_LEASE_SECONDS": "6"}
    args = ["Keepers", "--preset", "science", "--script-file", str(script), "--export", "youtube"]
    workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        submitted = run_cli(["submit", *args], env, tmp_path)
        assert submitted.returncode == 0, submitted.stderr
        waited = run_cli(["wait", submitted.stdout.strip()], env, tmp_path, timeout=300)
        assert waited.returncode == 0, waited.stderr
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
    logs = "".join((tmp_path / f"worker-{n}.log").read_text() for n in (1, 2))
    assert "rendered segment" in logs and "of another worker's video" in logs  # the idle worker helped
    alone = run_cli(["make", *args], isolated_env(tmp_path / "alone"), tmp_path)
    assert alone.returncode == 0, alone.stderr
    shared_video = Path(waited.stdout.strip()) / "video.mp4"
    alone_video = next((tmp_path / "alone" / "output").glob("*/video.mp4"))
    assert _frames_digest(shared_video) == _frames_digest(alone_video)  # frame for frame the same video


def test_a_cancel_reaches_the_worker_running_the_job(redis_url: str, tmp_path: Path):
    script = tmp_path / "s.txt"
    script.write_text("\n\n".join(f"Part {n}. The tide came in over the causeway again." for n in range(1, 6)))
    env = isolated_env(tmp_path) | {"VF_BROKER_URL": redis_url}
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", broker_url=redis_url)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        submitted = run_cli(["submit", "Tides", "--preset", "science", "--script-file", str(script)], env, tmp_path)
        assert submitted.returncode == 0, submitted.stderr
        job_id = int(submitted.stdout)
        store = Store(settings.resolved_database_url)
        deadline = time.monotonic() + 120
        while JobBook(store).get(job_id).state != JobState.RUNNING and time.monotonic() < deadline:
            time.sleep(0.1)
        assert QueueRunner(settings, store, "cli").cancel(job_id)  # from another process than the worker's
        waited = run_cli(["wait", str(job_id)], env, tmp_path, timeout=180)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    assert waited.returncode == 1 and "cancelled" in waited.stderr
    assert JobBook(store).get(job_id).state == JobState.CANCELLED


@pytest.mark.parametrize("broker", ["closed-port", "not-a-url"])
def test_a_submit_the_queue_cannot_take_leaves_no_row_and_says_one_line(tmp_path: Path, broker: str):
    """Q2: nothing is left that nobody will ever run (and no copy of the script), exit 2 with one line."""
    from tests.conftest import free_port

    url = f"redis://127.0.0.1:{free_port()}/0" if broker == "closed-port" else "nonsense-transport://somewhere"
    env = isolated_env(tmp_path) | {"VF_BROKER_URL": url}
    script = tmp_path / "keeper.txt"
    script.write_text("The keeper climbed the stairs. The lamp was lit.")
    done = run_cli(["submit", "Lighthouses", "--preset", "science", "--script-file", str(script)], env, tmp_path,
                   timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert ("cannot reach the queue" if broker == "closed-port" else "not a queue address") in done.stderr
    assert "Traceback" not in done.stderr and "somewhere" not in done.stderr
    assert run_cli(["jobs"], env, tmp_path).stdout.strip() == "no jobs yet"
    submitted = tmp_path / "data" / "inputs" / "submitted"
    assert not submitted.exists() or not any(submitted.iterdir())


def test_the_reaper_leaves_a_paused_job_of_make_to_make(redis_url: str, tmp_path: Path, monkeypatch):
    """Q4: with VF_BROKER_URL set, `videofactory make` runs its job itself; the workers' reaper never queues it."""
    from celery import Celery

    from engine.jobs import LOCAL, Origin, Paused
    from engine.models import JobRequest
    from engine.pipeline import prepare
    from engine.queue import reap

    from engine.store import open_store

    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", broker_url=redis_url)
    book = JobBook(open_store(settings))
    prepared = prepare(JobRequest(topic="Tides", preset="science"), settings)
    ids = {}
    for kind in (LOCAL, "cli"):
        job = book.create(prepared.request, prepared.preset, prepared.slug, Origin(kind), settings.output_dir)
        book.start(int(job.id))
        book.end(int(job.id), Paused("tokens ran out", None))
        ids[kind] = int(job.id)
    sent: list[int] = []
    monkeypatch.setattr("engine.queue.send", lambda app, job_id, book=None: sent.append(job_id))
    reap(settings, Celery("test", broker=redis_url))
    assert sent == [ids["cli"]]  # the queue's own paused job goes back on the queue; make's stays with make
    assert book.get(ids[LOCAL]).state == JobState.PAUSED


@pytest.mark.slow
def test_a_job_requeued_while_redis_is_down_is_sent_again_when_it_is_back(redis_server, tmp_path: Path):
    """Q1: the reaper put a lost worker's job back as queued while Redis was down, and its send failed; the next
    pass after Redis comes back sends it again (before, it waited for Redis's one-hour visibility timeout)."""
    env = isolated_env(tmp_path) | {"VF_BROKER_URL": redis_server.url, "VF_LEASE_SECONDS": "6"}
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output",
                             broker_url=redis_server.url)
    settings.data_dir.mkdir(parents=True)
    book = JobBook(Store(settings.resolved_database_url))
    workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        script = tmp_path / "tides.txt"
        script.write_text("\n\n".join(f"Tides shaped the coast, part {n}. Sailors read them on dark nights."
                                      for n in range(1, 6)))
        submitted = run_cli(["submit", "Tides", "--preset", "science", "--script-file", str(script),
                             "--export", "youtube"], env, tmp_path)
        assert submitted.returncode == 0, submitted.stderr
        job_id = int(submitted.stdout.strip())
        victim = _midway(book, "render", 300)
        redis_server.stop()
        killed = next(w for w in workers if parse_holder(victim.worker)[1] == w.pid)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(10)
        deadline = time.monotonic() + 90
        while not ((job := book.get(job_id)).state == JobState.QUEUED and job.sent_at is None):
            assert time.monotonic() < deadline, "the reaper did not take the job back"
            time.sleep(0.5)
        redis_server.start()
        back = time.monotonic()
        while (job := book.get(job_id)).state != JobState.DONE:
            assert job.state in (JobState.QUEUED, JobState.RUNNING), job.error
            assert time.monotonic() - back < 120, "not finished within two minutes of Redis coming back"
            time.sleep(1)
        assert job.attempts == 2  # run once more, not twice more
        assert probe(Path(job.folder) / "video.mp4").video_codec == "h264"
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(30)
