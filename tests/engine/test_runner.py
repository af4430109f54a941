"""The embedded runner's rules, with the pipeline replaced by a quick stand-in (whole videos run elsewhere)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from engine import runner as runner_module
from engine.errors import InputError
from engine.jobs import Cancelled, Done, Failed, JobState, Origin, Paused
from engine.models import Artefacts, JobRequest
from engine.runner import (
    UNEXPECTED,
    EmbeddedRunner,
    FilesReady,
    JobEnded,
    JobProgressed,
    JobQueued,
    JobResumed,
    JobStarted,
)
from engine.store import Store, utcnow
from engine.tables import Job
from engine.tokens import TokensExhausted


class StandIn:
    """Does what the pipeline does to its hook (three items, a file handed over early), with switches."""

    def __init__(self) -> None:
        self.calls = 0
        self.pause_first_for: float | None = None
        self.hold = threading.Event()
        self.hold.set()
        self.crash = False

    def __call__(self, plan, settings, store, progress, helpers=None) -> Artefacts:
        self.calls += 1
        if self.crash:
            raise KeyError("secret-internal-detail")
        if self.pause_first_for is not None and self.calls == 1:
            raise TokensExhausted("every token is rate-limited", utcnow() + timedelta(seconds=self.pause_first_for))
        progress.started("images", 3, "image")
        for done in (1, 2, 3):
            self.hold.wait(10)
            progress.advanced("images", done)
        progress.ready("thumbnails", (plan.folder / "thumbnails" / "1.jpg",))
        return Artefacts(plan.folder, plan.folder / "video.mp4", (), (), plan.folder / "script.json",
                         plan.folder / "job.json", (), 12.5)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    fake = StandIn()
    monkeypatch.setattr(runner_module, "make_video", fake)
    return fake


@pytest.fixture
def runner(settings):
    settings.data_dir.mkdir(parents=True)
    made = EmbeddedRunner(settings, Store(settings.resolved_database_url), origin="telegram")
    yield made
    made.shutdown()


def _events(runner: EmbeddedRunner) -> list:
    seen: list = []
    runner.subscribe(seen.append)
    return seen


def _request(topic: str = "Tides") -> JobRequest:
    return JobRequest(topic=topic, preset="science")


def test_a_job_runs_with_its_events_in_order_and_ends_done(runner: EmbeddedRunner, stand_in: StandIn):
    seen = _events(runner)
    job = runner.submit(_request(), Origin("telegram", 7, 8))
    outcome = runner.wait(job.id, timeout=30)
    assert isinstance(outcome, Done) and outcome.artefacts.video_seconds == 12.5
    kinds = [type(event) for event in seen]
    assert kinds[:2] == [JobQueued, JobStarted] and kinds[-1] == JobEnded
    assert kinds.index(FilesReady) < kinds.index(JobEnded)
    assert [e.done for e in seen if isinstance(e, JobProgressed)] == [0, 1, 2, 3]
    row = runner.status(job.id)
    assert (row.state, row.video_seconds, row.worker, row.attempts) == (JobState.DONE, 12.5, None, 1)


def test_bad_input_is_refused_before_a_job_exists(runner: EmbeddedRunner, stand_in: StandIn):
    with pytest.raises(InputError, match="unknown preset 'cooking'"):
        runner.submit(JobRequest(topic="Rome", preset="cooking"), Origin("telegram", 7))
    assert runner.book.find() == [] and stand_in.calls == 0


def test_cancel_stops_a_running_job_between_two_items(runner: EmbeddedRunner, stand_in: StandIn):
    stand_in.hold.clear()
    job = runner.submit(_request(), Origin("telegram", 7))
    deadline = time.monotonic() + 10
    while runner.status(job.id).state != JobState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.cancel(job.id)
    stand_in.hold.set()
    assert isinstance(runner.wait(job.id, timeout=30), Cancelled)
    assert runner.status(job.id).state == JobState.CANCELLED


def test_a_waiting_job_cancelled_is_told_at_once_and_never_runs(runner: EmbeddedRunner, stand_in: StandIn):
    stand_in.hold.clear()
    first, second = runner.submit(_request("A"), Origin("telegram", 7)), runner.submit(_request("B"), Origin("telegram", 7))
    assert runner.cancel(second.id)
    assert isinstance(runner.wait(second.id, timeout=1), Cancelled)  # without waiting for its turn
    stand_in.hold.set()
    assert isinstance(runner.wait(first.id, timeout=30), Done)
    time.sleep(0.2)
    assert stand_in.calls == 1 and runner.status(second.id).state == JobState.CANCELLED


def test_a_paused_job_goes_on_by_itself_when_its_token_is_back(runner: EmbeddedRunner, stand_in: StandIn):
    stand_in.pause_first_for = 0.5
    seen = _events(runner)
    job = runner.submit(_request(), Origin("telegram", 7))
    assert isinstance(runner.wait(job.id, timeout=10), Paused)
    deadline = time.monotonic() + 10
    while not any(isinstance(e, JobEnded) and isinstance(e.outcome, Done) for e in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    row = runner.status(job.id)
    assert (row.state, row.attempts) == (JobState.DONE, 2)
    resumed = [e for e in seen if isinstance(e, JobResumed)]
    assert [e.why for e in resumed] == ["token"]
    outcomes = [type(e.outcome) for e in seen if isinstance(e, JobEnded)]
    assert outcomes == [Paused, Done]


def test_an_unexpected_error_fails_the_job_with_a_plain_sentence(runner: EmbeddedRunner, stand_in: StandIn, caplog):
    stand_in.crash = True
    job = runner.submit(_request(), Origin("telegram", 7))
    outcome = runner.wait(job.id, timeout=10)
    assert outcome == Failed(UNEXPECTED)
    assert "secret-internal-detail" not in runner.status(job.id).error
    assert "secret-internal-detail" in caplog.text  # the details are in the log


def test_start_takes_up_its_own_unfinished_jobs_only(runner: EmbeddedRunner, stand_in: StandIn):
    store = runner.store
    common = {"topic": "T", "preset": "science", "slug": "t", "request_json": _request().model_dump_json()}
    from engine.presets import load_preset

    preset = load_preset("science", None).model_dump_json()
    rows = [store.add(Job(state=state, origin=origin, worker=worker, folder=str(runner.settings.output_dir / f"t-{k}"),
                          preset_json=preset, **common))
            for k, (state, origin, worker) in enumerate([
                ("queued", "telegram", None), ("running", "telegram", None), ("paused", "telegram", None),
                ("running", "telegram", "elsewhere:1"), ("queued", "cli", None), ("done", "telegram", None)])]
    taken = runner.start()
    assert sorted(job.id for job in taken) == [rows[0].id, rows[1].id, rows[2].id]
    for row in rows[:3]:
        assert isinstance(runner.wait(row.id, timeout=30), Done)
    assert runner.status(rows[3].id).state == "running"  # another machine runs it: left alone
    assert runner.status(rows[4].id).state == "queued"  # the command line's job: not the bot's to run
    assert Path(runner.status(rows[0].id).folder).name == "t-0"
