"""The A/B test's statistics with known answers, and its schedule under a controllable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.abtest import (
    ABTester,
    Arm,
    judge,
    next_variant,
    probability_best,
    two_proportion_p_value,
)
from engine.store import Store
from engine.youtube import ThumbnailMetrics, VideoStats


def test_five_versus_eight_percent_on_a_thousand_each_is_significant():
    assert two_proportion_p_value(50, 1000, 80, 1000) == pytest.approx(0.0065, abs=0.0005)
    verdict = judge([Arm(1, 50, 1000), Arm(2, 80, 1000), Arm(3, 52, 1000)], "ctr", minimum=1000)
    assert verdict.leader == 2 and verdict.significant and verdict.probability_best[2] > 0.95


def test_five_versus_six_percent_on_a_hundred_each_is_not():
    assert two_proportion_p_value(5, 100, 6, 100) > 0.7
    verdict = judge([Arm(1, 5, 100), Arm(2, 6, 100), Arm(3, 5, 100)], "ctr", minimum=100)
    assert verdict.leader == 2 and not verdict.significant and verdict.probability_best[2] < 0.6


def test_too_few_impressions_never_decide_however_large_the_gap():
    verdict = judge([Arm(1, 1, 40), Arm(2, 20, 40), Arm(3, 2, 40)], "ctr", minimum=1000)
    assert verdict.leader == 2 and verdict.p_value < 0.001 and not verdict.enough_data and not verdict.significant


def test_views_per_hour_compare_rates_not_totals():
    # Equal views, but variant 1 had half the time on screen: twice the rate.
    verdict = judge([Arm(1, 400, 10), Arm(2, 400, 20), Arm(3, 390, 20)], "views", minimum=300)
    assert verdict.leader == 1 and verdict.significant
    assert sum(probability_best([Arm(1, 10, 5), Arm(2, 10, 5)], "views").values()) == pytest.approx(1.0)


def test_turns_each_variant_once_then_round_robin_or_thompson_sampling():
    rng = np.random.default_rng(3)
    arms = [Arm(1, 30, 1000), Arm(2, 90, 1000), Arm(3, 31, 1000)]
    assert next_variant(arms, "ctr", [1], adaptive=True, rng=rng) == 2
    assert next_variant(arms, "ctr", [1, 2, 3], adaptive=False, rng=rng) == 1
    picks = [next_variant(arms, "ctr", [1, 2, 3], adaptive=True, rng=rng) for _ in range(200)]
    assert picks.count(2) > 190  # the clearly stronger thumbnail gets nearly every slot


@dataclass
class Channel:
    """A channel whose views grow at a rate set by the thumbnail on screen; the test moves its clock."""

    now: datetime
    per_hour: dict[int, float]
    shown: list[tuple[datetime, int]] = field(default_factory=list)
    daily: dict[date, ThumbnailMetrics] = field(default_factory=dict)

    def set_thumbnail(self, video_id: str, image: Path) -> None:
        self.shown.append((self.now, int(image.stem)))

    def stats(self, video_id: str) -> VideoStats:
        views = 0.0
        for (start, variant), following in zip(self.shown, [*self.shown[1:], (self.now, 0)]):
            views += self.per_hour[variant] * (following[0] - start).total_seconds() / 3600
        return VideoStats(int(views), 0, 0)

    def thumbnail_metrics(self, video_id: str, start: date, end: date) -> ThumbnailMetrics | None:
        return self.daily.get(start)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "thumbnails").mkdir()
    for k in (1, 2, 3):
        Image.new("RGB", (64, 36), (k * 60, 0, 0)).save(tmp_path / "thumbnails" / f"{k}.jpg")
    return tmp_path


def test_the_report_comes_at_24_hours_across_a_restart_and_the_winner_is_applied_at_the_end(folder: Path, tmp_path: Path):
    began = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    channel = Channel(began, {1: 20.0, 2: 21.0, 3: 19.5})  # too close to call: the time limit decides
    database = f"sqlite:///{tmp_path / 'ab.db'}"

    def tester() -> ABTester:
        return ABTester(Store(database), lambda: channel, min_views=300, seed=7)

    first = tester()
    test = first.start("vid", folder, chat_id=42, now=began, slot_hours=2)
    notices = []
    for hour in range(1, 13):  # the bot runs for 12 hours, ticking every hour
        channel.now = began + timedelta(hours=hour)
        notices += first.tick(channel.now)
    assert notices == [] and [v for _, v in channel.shown][:4] == [1, 2, 3, 1]

    # The bot is down from hour 12 to hour 30; a new process finds the test in the database.
    channel.now = began + timedelta(hours=30)
    second = tester()
    notices = second.tick(channel.now)
    assert len(notices) == 1 and notices[0].chat_id == 42 and "24-hour report" in notices[0].text
    assert "views per hour" in notices[0].text and "thumbnail 1" in notices[0].text
    slots = second.slots(test.id)
    assert slots[-2].end.replace(tzinfo=None) == channel.now.replace(tzinfo=None)  # the overdue slot ran until the restart
    assert second.tick(channel.now + timedelta(minutes=5)) == []  # the report is sent once

    final = []
    hour = 30
    while not final:
        hour += 2
        channel.now = began + timedelta(hours=hour)
        final = [n for n in second.tick(channel.now) if "Final report" in n.text]
    assert hour == 7 * 24  # the default maximum of 7 days
    assert "time limit" in final[0].text
    done = second.test(test.id)
    assert done.state == "done" and done.decided_by == "time limit"
    assert channel.shown[-1][1] == done.winner  # the winner is what stays on the video


def test_a_clear_click_rate_difference_ends_the_test_early(folder: Path, tmp_path: Path):
    began = datetime(2026, 11, 24, 8, tzinfo=timezone.utc)  # midnight in Pacific time
    channel = Channel(began, {1: 10, 2: 10, 3: 10})
    tester = ABTester(Store(f"sqlite:///{tmp_path / 'ab.db'}"), lambda: channel, min_impressions=1000, seed=2)
    test = tester.start("vid", folder, chat_id=7, now=began)  # one Pacific day per thumbnail
    # Analytics' figures per day: thumbnail 3 (the third day) is clicked twice as often.
    rates = {date(2026, 11, 24): 0.04, date(2026, 11, 25): 0.041, date(2026, 11, 26): 0.08}
    notices = []
    for hour in range(1, 24 * 4):
        channel.now = began + timedelta(hours=hour)
        # Figures for a day appear a day after it ends, first too low, then corrected.
        channel.daily = {day: ThumbnailMetrics(2500 if (channel.now.date() - day).days < 2 else 5000, rate)
                         for day, rate in rates.items() if (channel.now.date() - day).days >= 1}
        notices += tester.tick(channel.now)
        if any("Final report" in n.text for n in notices):
            break
    assert [v for _, v in channel.shown][:3] == [1, 2, 3]
    assert [t.hour for t, _ in channel.shown[1:3]] == [8, 8]  # switched at midnight Pacific time
    assert "24-hour report" in notices[0].text
    final = notices[-1].text
    assert "click-through rate (YouTube Analytics)" in final and "the difference is significant" in final
    done = tester.test(test.id)
    assert (done.winner, done.decided_by) == (3, "statistics") and channel.shown[-1][1] == 3
    assert [d.impressions for d in tester.days(test.id)] == [5000, 5000, 2500]  # re-read: corrected, not added
    arms, kind = tester.arms(done, channel.now)
    assert kind == "ctr" and arms[2].successes / arms[2].exposure == pytest.approx(0.08, rel=0.01)
