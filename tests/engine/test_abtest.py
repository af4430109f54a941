"""The A/B test's design and statistics on known answers, and the tester under a controllable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlmodel import Session

from engine import abstats
from engine.abstats import PACIFIC, first_judged_day, pacific_day
from engine.abtest import ABTester
from engine.errors import InputError
from engine.store import Store
from engine.youtube import VideoStatus
from engine.tables import ReachDay


def test_each_cycle_is_a_fresh_permutation_of_the_variants_on_consecutive_days():
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, np.random.default_rng(4))
    assert [d.day for d in plan] == [date(2026, 12, 1) + timedelta(days=k) for k in range(18)]
    assert all(sorted(d.variant for d in plan if d.cycle == c) == [1, 2, 3] for c in range(1, 7))
    orders = {tuple(d.variant for d in plan if d.cycle == c) for c in range(1, 7)}
    assert len(orders) > 1  # not one fixed order: variant 1 does not always get the earliest days
    assert abstats.looks(3, 6) == [3, 4, 5, 6] and abstats.looks(2, 9) == [8, 9]


def _days(plan: list[abstats.PlannedDay], ctr_of, impressions: int = 5000) -> list[abstats.DayResult]:
    """Exact figures (no sampling noise): what `ctr_of(day index, variant)` says."""
    return [abstats.DayResult(d.day, d.cycle, d.variant, 2.0 + k, impressions, impressions * ctr_of(k, d.variant))
            for k, d in enumerate(plan)]


def test_identical_variants_under_falling_views_weekdays_and_day_to_day_noise_never_decide():
    rng = np.random.default_rng(11)
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, rng)
    noise = rng.normal(0, 0.08, len(plan))
    # The click rate halves over the test, dips at weekends and wobbles by 8 % a day: none of it is a variant's.
    results = _days(plan, lambda k, v: 0.06 * np.exp(-k / 25) * (0.9 if k % 7 in (5, 6) else 1.0) * np.exp(noise[k]))
    for look in abstats.looks(3, 6):
        found = abstats.analyse([r for r in results if r.cycle <= look], 3, 6, seed=1)
        assert not found.decided and found.p_value > 0.05


def test_a_clearly_better_thumbnail_is_found_once_the_design_can_tell_it_with_its_uplift():
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, np.random.default_rng(2))
    results = _days(plan, lambda k, v: 0.05 * (1 + k) ** -0.3 * (1.5 if v == 2 else 1.0))
    # Which days were thumbnail 2's is what the design can tell: after three cycles that is one choice of 27,
    # too coarse for the first look's share of the 5 %, even with exact figures.
    early = abstats.analyse([r for r in results if r.cycle <= 3], 3, 6, seed=1)
    assert early.leader == 2 and not early.decided and early.p_value > 0.0125
    found = abstats.analyse([r for r in results if r.cycle <= 4], 3, 6, seed=1)
    assert found.decided and found.leader == 2 and found.p_value < 0.025
    assert found.uplift == pytest.approx(0.5, abs=0.06)  # odds, near the click-rate ratio at 5 %
    assert found.interval[0] < found.uplift < found.interval[1]
    assert found.ctr[2] > found.ctr[1] and found.ctr[2] > found.ctr[3]


def test_no_decision_before_the_first_planned_look_however_large_the_gap():
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, np.random.default_rng(3))
    results = _days(plan, lambda k, v: 0.09 if v == 3 else 0.03)
    found = abstats.analyse([r for r in results if r.cycle <= 2], 3, 6, seed=1)
    assert found.leader == 3 and not found.decided  # two cycles: 36 schedules cannot show 5 % spent over 4 looks


def test_the_first_judged_day_leaves_out_every_day_the_video_is_under_a_day_old():
    published = datetime(2026, 12, 1, 20, tzinfo=timezone.utc)  # 12:00 Pacific on 1 December
    assert first_judged_day(published, published) == date(2026, 12, 3)  # 2 December ends before it is 24 h old
    late_start = published + timedelta(days=10)
    assert first_judged_day(published, late_start) == pacific_day(late_start) + timedelta(days=1)


@dataclass
class Channel:
    """A channel and its reach reports under a test's control: what was put up when, and the figures it files."""

    store: Store
    ctr: dict[int, float]
    shown: list[tuple[datetime, int]] = field(default_factory=list)
    now: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)
    refuse: int = 0  # thumbnails.set answers 429 this many times
    privacy: str = "public"  # what videos.list says of the video now

    def video_status(self, video_id: str) -> VideoStatus:
        return VideoStatus(self.privacy)

    def set_thumbnail(self, video_id: str, image: Path) -> None:
        if self.refuse:
            from engine.youtube import ThumbnailRateLimited

            self.refuse -= 1
            raise ThumbnailRateLimited("setting the thumbnail: uploadRateLimitExceeded")
        self.shown.append((self.now, int(image.stem)))

    def set_title(self, video_id: str, title: str) -> None:
        raise AssertionError("a thumbnail test sets no title")

    def sync(self, videos: set[str], now: datetime) -> int:
        """Files each day's figures two days after it: the variant up at noon Pacific gets that day's clicks."""
        last = pacific_day(now) - timedelta(days=2)
        with Session(self.store.engine) as session:
            for when, _ in self.shown[:1]:
                day = pacific_day(when)
                while day <= last:
                    noon = datetime(day.year, day.month, day.day, 12, tzinfo=PACIFIC)
                    variant = [v for t, v in self.shown if t <= noon][-1]
                    if session.get(ReachDay, day.toordinal()) is None:
                        session.add(ReachDay(id=day.toordinal(), video_id="vid", day=day, impressions=5000,
                                             clicks=5000 * self.ctr[variant], report_created=now))
                    day += timedelta(days=1)
            session.commit()
        return 0


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "thumbnails").mkdir()
    for k in (1, 2, 3):
        Image.new("RGB", (64, 36), "grey").save(tmp_path / "thumbnails" / f"{k}.jpg")
    return tmp_path


def _run(tester_of, channel: Channel, began: datetime, days: int, every_hours: float = 6) -> list[str]:
    """Tick from `began` for `days` days; the texts sent."""
    texts = []
    tester = tester_of()
    moment = began
    while moment < began + timedelta(days=days):
        moment += timedelta(hours=every_hours)
        channel.now = moment
        texts += [n.text for n in tester.tick(moment)]
    return texts


def test_days_switch_after_midnight_pacific_and_the_schedule_survives_a_restart(folder: Path, tmp_path: Path):
    database = f"sqlite:///{tmp_path / 'ab.db'}"
    channel = Channel(Store(database), {1: 0.05, 2: 0.05, 3: 0.05})

    def tester() -> ABTester:
        return ABTester(Store(database), lambda: channel, lambda: channel, seed=5)

    began = datetime(2026, 12, 1, 19, tzinfo=timezone.utc)  # 11:00 Pacific, just published
    test = tester().start_thumbnails("vid", folder, 42, began, began, approved=2)
    assert test.first_day == date(2026, 12, 3) and test.max_cycles == 6
    texts = _run(tester, channel, began, 5, every_hours=0.5)  # a process ticking every 30 minutes for 5 days
    planned = tester().schedule(test.id)
    up_by_day = {pacific_day(t): v for t, v in channel.shown}
    assert [up_by_day[d.day] for d in planned if d.day <= date(2026, 12, 6)] == [d.variant for d in planned[:4]]
    assert all(t.astimezone(PACIFIC).hour == 0 for t, _ in channel.shown)  # each switch in the first half hour
    assert sum("24-hour report" in t for t in texts) == 1 and "Schedule (Pacific days)" in texts[0]
    # A new process, started mid-cycle after a night down, goes on with the same plan; the late day is marked.
    channel.now = datetime(2026, 12, 7, 14, tzinfo=timezone.utc)  # 06:00 Pacific
    tester().tick(channel.now)
    day = next(d for d in tester().schedule(test.id) if d.day == date(2026, 12, 7))
    assert channel.shown[-1][1] == day.variant and day.late


def test_a_video_youtube_has_private_now_gets_no_test(folder: Path, tmp_path: Path):
    """The status is read from YouTube when the test starts: the upload's answer may have said public."""
    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    channel = Channel(store, {1: 0.05, 2: 0.05, 3: 0.05}, privacy="private")
    tester = ABTester(store, lambda: channel, lambda: channel)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with pytest.raises(InputError, match="private"):
        tester.start_thumbnails("vid", folder, 1, now, now)
    assert tester.tests() == []


def test_a_better_thumbnail_wins_and_a_refused_switch_is_retried_the_same_day(folder: Path, tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    channel = Channel(store, {1: 0.04, 2: 0.04, 3: 0.07}, refuse=1)
    tester = ABTester(store, lambda: channel, lambda: channel, seed=9)
    began = datetime(2026, 12, 1, 19, tzinfo=timezone.utc)
    test = tester.start_thumbnails("vid", folder, 7, began, began)
    texts = _run(lambda: tester, channel, began, 21, every_hours=0.25)
    done = tester.test(test.id)
    assert (done.state, done.winner, done.decided_by) == ("done", 3, "statistics")
    assert channel.shown[-1][1] == 3  # the winner stays up
    assert any("Cycle 1 of 6" in t for t in texts) and "Final report" in texts[-1] and "beyond chance" in texts[-1]
    first = tester.schedule(test.id)[0]
    assert first.switched is not None and not first.late  # refused once at 00:00, put up at 00:15


def test_without_a_difference_the_approved_thumbnail_stays(folder: Path, tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    channel = Channel(store, {1: 0.05, 2: 0.05, 3: 0.05})
    tester = ABTester(store, lambda: channel, lambda: channel, seed=3)
    began = datetime(2026, 12, 1, 19, tzinfo=timezone.utc)
    test = tester.start_thumbnails("vid", folder, 7, began, began, approved=2)
    texts = _run(lambda: tester, channel, began, 28, every_hours=1)
    done = tester.test(test.id)
    assert (done.winner, done.decided_by) == (2, "no difference") and channel.shown[-1][1] == 2
    assert "could be told apart" in texts[-1] and "95% interval" in texts[-1]


def test_each_channel_moves_only_its_own_tests_and_a_refused_channel_waits(folder: Path, tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    history, science = Channel(store, {1: 0.05, 2: 0.05, 3: 0.05}), Channel(store, {1: 0.05, 2: 0.05, 3: 0.05})
    refused: set[str] = set()

    def tester(name: str, channel: Channel) -> ABTester:
        return ABTester(store, lambda: channel, lambda: channel, seed=5, paused=lambda: refused, scope=name)

    began = datetime(2026, 12, 1, 19, tzinfo=timezone.utc)
    tester("history", history).start_thumbnails("hist", folder, 1, began, began)
    tester("science", science).start_thumbnails("sci", folder, 2, began, began)
    refused.add("science")  # its authorisation was refused
    later = datetime(2026, 12, 3, 9, tzinfo=timezone.utc)  # the first judged Pacific day has begun
    history.now = science.now = later
    tester("history", history).tick(later)
    assert tester("science", science).tick(later) == []
    assert history.shown and science.shown == []  # the first judged day's thumbnail went up on history only
    refused.clear()  # authorised again: it goes on
    tester("science", science).tick(later)
    assert science.shown and len(history.shown) == 1
