"""Statistics from a database seeded with known jobs: exact figures, a chart, and a friendly empty answer."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import av
import pytest

from engine.stats import CHART_SIZE, gather, stats_chart, stats_text
from engine.store import Store
from engine.tables import ABDay, ABTest, Job, ReachDay, StageRun, TokenLedger
from tests.conftest import run_cli

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def _job(store: Store, preset: str, days_ago: float, seconds: float, state: str = "done") -> Job:
    created = NOW - timedelta(days=days_ago)
    return store.add(Job(slug="s", topic="t", preset=preset, state=state, created=created,  # type: ignore[return-value]
                               finished=created + timedelta(seconds=seconds)))


def _run(store: Store, job: Job, stage: str, seconds: float, outcome: str = "done", error: str | None = None,
         backend: str = "ffmpeg", items: tuple[int, int] = (0, 0)) -> None:
    store.add(StageRun(job_id=job.id, stage=stage, backend=backend, started=job.created,  # type: ignore[arg-type]
                       finished=job.created + timedelta(seconds=seconds), outcome=outcome, error=error,
                       items_total=items[1], items_computed=items[0]))


@pytest.fixture
def seeded(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'stats.db'}")
    first = _job(store, "science", 0.5, 100)
    second = _job(store, "science", 1.5, 200)
    third = _job(store, "true-crime", 1.4, 300)
    _job(store, "science", 30, 999)  # outside the week
    failed = _job(store, "science", 0.2, 50, state="failed")
    for job, seconds in ((first, 10), (second, 20), (third, 30)):
        _run(store, job, "render", seconds)
    _run(store, first, "images", 5, backend="flux", items=(10, 10))
    _run(store, second, "images", 5, backend="flux", items=(8, 10))
    _run(store, third, "images", 2, backend="procedural", items=(6, 6))
    for _ in range(2):
        _run(store, failed, "images", 1, outcome="failed", error="every Hugging Face token is spent", backend="flux")
    _run(store, failed, "voice", 1, outcome="failed", error="voice-over file x.ogg holds no audible speech")
    store.add(TokenLedger(key="k1", fingerprint="hf_…ab12", month="2026-11", calls=40, spend_usd=0.08,
                          count_402=1, count_429=3, images_ok=36, images_failed=4))
    began = NOW - timedelta(days=8)
    test = store.add(ABTest(video_id="vid", folder="/x", published=began, started=began, first_day=began.date(),
                            max_cycles=2, state="done", winner=2, decided_by="statistics", reported_cycles=2,
                            finished=NOW - timedelta(days=1)))
    for k, variant in enumerate((1, 2, 3, 3, 1, 2)):  # thumbnail 2 is clicked 50% more often, both cycles
        day = began.date() + timedelta(days=k)
        store.add(ABDay(test_id=test.id, day=day, cycle=1 + k // 3, variant=variant, switched=began))  # type: ignore[arg-type]
        store.add(ReachDay(video_id="vid", day=day, impressions=10_000, clicks=600 if variant == 2 else 400,
                           report_created=NOW))
    return store


def test_seeded_jobs_give_exact_figures(seeded: Store):
    stats = gather(seeded, days=7, now=NOW, budget_usd=0.10)
    assert stats.videos_per_day == {date(2026, 11, 23): 2, date(2026, 11, 24): 1}  # by the day each finished
    assert stats.videos_per_preset == {"science": 2, "true-crime": 1}
    assert (stats.total_time.mean, stats.total_time.p90, stats.total_time.count) == (200.0, 280.0, 3)
    render = stats.stage_time["render"]
    assert (render.mean, render.p90) == (20.0, 28.0)
    assert stats.images_per_backend == {"flux": (18, 20), "procedural": (6, 6)}
    [token] = stats.tokens
    assert (token.calls, token.spend_usd, token.budget_left_usd, token.count_402, token.count_429) == (40, 0.08, 0.02, 1, 3)
    assert stats.failures["images"] == (2, (("every Hugging Face token is spent", 2),))
    assert stats.failures["voice"][0] == 1
    [test] = stats.tests
    assert (test.winner, test.decided_by) == ("thumbnail 2", "statistics")
    assert test.uplift == pytest.approx(0.53, abs=0.02)  # click odds: (6/94) / (4/96)
    text = stats_text(stats)
    assert "3 video(s) made, science 2, true-crime 1" in text
    assert "Pictures by flux: 18/20 made (90%)" in text
    assert "402×1, 429×3, pictures 36/40 (90%)" in text
    assert "A/B test #1 (vid): thumbnail 2 stays (statistics; leader +53% click odds)" in text
    assert "Failures in images: 2; most often: every Hugging Face token is spent ×2" in text


def test_the_chart_is_a_png_of_the_expected_size(seeded: Store, tmp_path: Path):
    chart = stats_chart(gather(seeded, days=7, now=NOW, budget_usd=0.10), tmp_path / "chart.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with av.open(str(chart)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == CHART_SIZE


def test_an_empty_database_says_nothing_yet(tmp_path: Path, cli_env):
    stats = gather(Store(f"sqlite:///{tmp_path / 'empty.db'}"), days=7, now=NOW, budget_usd=0.10)
    assert stats.empty and stats_text(stats).startswith("Nothing yet in the last 7 days")
    shown = run_cli(["stats", "--days", "30", "--chart", str(tmp_path / "c.png")], cli_env, tmp_path)
    assert shown.returncode == 0 and "Nothing yet in the last 30 days" in shown.stdout
    assert (tmp_path / "c.png").stat().st_size > 1000  # an empty chart still draws
