"""The A/B test's decision rule on a simulated channel: false winners when there is nothing to find, and power.

A simulated channel stands in for YouTube: each day a video is shown a number of times that falls
with its age, its click rate falls with age too, weekdays may differ, every day's click rate wobbles
by about 8 % (log-normal), impressions and clicks are drawn at random, and each day's figures reach
the store two days after the day. The real `ABTester` is driven through its public interface
(`start_thumbnails`, then `tick` four times a day on a controllable clock) until it ends the test.

Scenarios (1,000 runs each by default):
- A/A, no trend: three identical thumbnails, 5,000 impressions a day, steady click rate.
- A/A, falling views and CTR: impressions and click rate fall with the video's age.
- A/A, weekday effect: steady, but weekends are clicked 12 % more and Mondays 8 % less.
- Power, in the falling-views-and-CTR scenario: one thumbnail (chosen at random) clicked 25 % more,
  5,000 impressions a day at ten days old. (The same with the weekday effect as well is reported too.)

Run: python bench/abtest.py [runs per scenario, default 1000]   (writes bench/results/abtest.json)
Targets (issue 18): a false winner in at most 6 % of A/A runs in every scenario; the better thumbnail
picked within 21 days in at least 80 % of power runs.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from sqlmodel import Session  # noqa: E402

from engine.abstats import PACIFIC, pacific_day  # noqa: E402
from engine.abtest import ABTester  # noqa: E402
from engine.store import Store  # noqa: E402
from engine.tables import ReachDay  # noqa: E402

REPORT_DELAY_DAYS = 2
TICK_HOURS = 6
WITHIN_DAYS = 21
SCENARIOS = {
    "aa_no_trend": {"trend": False, "weekday": False, "uplift": 0.0},
    "aa_falling_views_and_ctr": {"trend": True, "weekday": False, "uplift": 0.0},
    "aa_weekday_effect": {"trend": False, "weekday": True, "uplift": 0.0},
    "power_plus_25_percent": {"trend": True, "weekday": False, "uplift": 0.25},
    "power_plus_25_percent_with_weekdays": {"trend": True, "weekday": True, "uplift": 0.25},
}
WEEKDAY = {0: 0.92, 5: 1.12, 6: 1.12}  # Monday lower, weekends higher; other days 1


@dataclass
class SimulatedChannel:
    """A video on a simulated channel: what is up when, and the daily figures it files two days late."""

    store: Store
    video_id: str
    published: datetime
    rng: np.random.Generator
    scenario: dict
    better: int
    shown: list[tuple[datetime, int]] = field(default_factory=list)
    filed: set = field(default_factory=set)

    def set_thumbnail(self, video_id: str, image: Path) -> None:
        self.shown.append((self.now, int(image.stem)))

    def set_title(self, video_id: str, title: str) -> None:
        raise AssertionError("the benchmark tests thumbnails")

    def _figures(self, day) -> tuple[int, float]:  # noqa: ANN001 - a date
        age = (datetime.combine(day, datetime.min.time(), tzinfo=PACIFIC) + timedelta(hours=12) - self.published)
        days = max(age.total_seconds() / 86400, 0.5)
        trend = self.scenario["trend"]
        impressions = self.rng.poisson(5000 * ((days / 10) ** -0.3 if trend else 1.0))
        noon = datetime.combine(day, datetime.min.time(), tzinfo=PACIFIC) + timedelta(hours=12)
        variant = ([v for t, v in self.shown if t <= noon] or [self.shown[0][1]])[-1]
        ctr = 0.05 * ((days / 10) ** -0.15 if trend else 1.0)
        ctr *= WEEKDAY.get(day.weekday(), 1.0) if self.scenario["weekday"] else 1.0
        ctr *= float(np.exp(self.rng.normal(0, 0.08)))
        ctr *= 1 + self.scenario["uplift"] if variant == self.better else 1.0
        return int(impressions), float(self.rng.binomial(impressions, min(ctr, 0.9)))

    def sync(self, videos: set[str], now: datetime) -> int:
        """File every day up to two days ago that is not filed yet (the day the video went up included)."""
        day, last = pacific_day(self.published), pacific_day(now) - timedelta(days=REPORT_DELAY_DAYS)
        with Session(self.store.engine) as session:
            while day <= last:
                if day not in self.filed:
                    impressions, clicks = self._figures(day)
                    session.add(ReachDay(video_id=self.video_id, day=day, impressions=impressions, clicks=clicks,
                                         report_created=now))
                    self.filed.add(day)
                day += timedelta(days=1)
            session.commit()
        return 0


def one_run(store: Store, folder: Path, scenario: dict, seed: int) -> dict:
    """One test from upload to its end: what it decided, and after how many days."""
    rng = np.random.default_rng(seed)
    began = datetime(2026, 1, 5, tzinfo=timezone.utc) + timedelta(days=int(rng.integers(0, 300)),
                                                                   hours=float(rng.uniform(0, 24)))
    channel = SimulatedChannel(store, f"video-{seed}", began, rng, scenario, better=int(rng.integers(1, 4)))
    channel.now = began
    channel.shown.append((began, 1))  # the upload put up the approved thumbnail
    # The tester draws its schedule from a generator of its own: the design must not know the simulated world.
    tester = ABTester(store, lambda: channel, lambda: channel, seed=seed + 7_919_000_000)
    test = tester.start_thumbnails(channel.video_id, folder, None, began, began, "public")
    # A tick at 00:20 Pacific puts each day's thumbnail up in time; three more a day read and report.
    moment = datetime.combine(pacific_day(began), datetime.min.time(), tzinfo=PACIFIC) + timedelta(minutes=20)
    while tester.test(test.id).state == "running" and moment < began + timedelta(days=40):
        moment += timedelta(hours=TICK_HOURS)
        if moment <= began:
            continue
        channel.now = moment
        tester.tick(moment)
    done = tester.test(test.id)
    days = (done.finished.replace(tzinfo=timezone.utc) - began).total_seconds() / 86400 if done.finished else None
    return {"decided": done.decided_by == "statistics", "winner": done.winner, "better": channel.better,
            "days": days}


def run_batch(job: tuple[str, int, int]) -> list[dict]:
    """Runs `start` .. `start + count` of one scenario, in a database of their own."""
    name, start, count = job
    work = Path(tempfile.mkdtemp(prefix="vf-bench-ab-"))
    (work / "thumbnails").mkdir()
    for k in (1, 2, 3):
        Image.new("RGB", (16, 9), "grey").save(work / "thumbnails" / f"{k}.jpg")
    store = Store(f"sqlite:///{work / 'ab.db'}")
    offset = list(SCENARIOS).index(name) * 1_000_000
    return [one_run(store, work, SCENARIOS[name], offset + seed) for seed in range(start, start + count)]


def summarise(name: str, runs: list[dict]) -> dict:
    """The scenario's figures."""
    if SCENARIOS[name]["uplift"] == 0:
        false = sum(r["decided"] for r in runs)
        return {"runs": len(runs), "false_winner_rate": round(false / len(runs), 4), "target_at_most": 0.06,
                "median_days_when_decided": _median([r["days"] for r in runs if r["decided"]])}
    # Power: the better thumbnail decided within 21 days of the start.
    right = [r for r in runs if r["decided"] and r["winner"] == r["better"] and r["days"] <= WITHIN_DAYS]
    wrong = sum(r["decided"] and r["winner"] != r["better"] for r in runs)
    return {"runs": len(runs), "picked_within_21_days": round(len(right) / len(runs), 4), "target_at_least": 0.8,
            "wrong_winner_rate": round(wrong / len(runs), 4),
            "median_days_to_decision": _median([r["days"] for r in runs if r["decided"]])}


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 1) if values else None


def main() -> None:
    """Every scenario, split over the cores; print and write the figures."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    workers = os.cpu_count() or 1
    began = time.perf_counter()
    batches = [(name, start, min(50, runs - start)) for name in SCENARIOS for start in range(0, runs, 50)]
    with ProcessPoolExecutor(workers) as pool:
        done = list(pool.map(run_batch, batches))
    results: dict[str, list[dict]] = {name: [] for name in SCENARIOS}
    for (name, _, _), batch in zip(batches, done):
        results[name] += batch
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "design": "whole Pacific days, random permutation per cycle, burn-in under 24 h, looks after cycles 3-6",
        "statistics": "least squares on daily log-odds with log age; group-sequential re-randomisation test, 5% spent "
                      "evenly over the looks",
        "simulation": {"ctr_noise": "log-normal, sd 0.08 a day", "report_delay_days": REPORT_DELAY_DAYS,
                       "impressions_per_day": "Poisson, 5,000 (x (age/10)^-0.3 when falling)",
                       "ctr": "5% (x (age/10)^-0.15 when falling)", "weekday": WEEKDAY},
        "scenarios": {name: summarise(name, results[name]) for name in SCENARIOS},
        "seconds": round(time.perf_counter() - began, 1),
    }
    out = ROOT / "bench" / "results" / "abtest.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
