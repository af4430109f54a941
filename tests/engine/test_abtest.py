"""The A/B test's design and statistics on known answers, and the tester under a controllable clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlmodel import Session, select

from engine import abstats
from engine.abstats import PACIFIC, first_judged_day, pacific_day
from engine.abtest import ABTester
from engine.errors import InputError
from engine.store import Store, as_utc
from engine.youtube import VideoStatus
from engine.tables import ReachDay


def test_each_cycle_is_a_fresh_permutation_of_the_variants_on_consecutive_days():
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, np.random.default_rng(4))
    assert [d.day for d in plan] == [date(2026, 12, 1) + timedelta(days=k) for k in range(18)]
    assert all(sorted(d.variant for d in plan if d.cycle == c) == [1, 2, 3] for c in range(1, 7))
    orders = {tuple(d.variant for d in plan if d.cycle == c) for c in range(1, 7)}
    assert len(orders) > 1  # not one fixed order: variant 1 does not always get the earliest days


def _all_schedules(variants: int, cycles: int) -> np.ndarray:
    """Every schedule of `cycles` cycles, each cycle a permutation of the variants."""
    orders = np.array(list(itertools.permutations(range(1, variants + 1))))
    return np.array([np.concatenate(p) for p in itertools.product(orders, repeat=cycles)])


@pytest.mark.parametrize("variants", [2, 3, 4])
def test_a_planned_look_can_always_reach_its_share_and_renamed_schedules_tie(variants: int):
    """Renaming the variants leaves the lead as it was: (k!)^c schedules show only (k!)^(c-1) values, so a look
    whose share of the 5 % is under one over that count could never decide, and none such is planned."""
    for max_cycles in range(1, 8):
        planned = abstats.looks(variants, max_cycles)
        assert planned == sorted(planned) and all(abstats.MIN_CYCLES <= c <= max_cycles for c in planned)
        for cycle in planned:
            assert abstats.distinct_schedules(variants, cycle) * abstats.ALPHA / len(planned) >= 1
        if planned:
            assert planned[-1] == max_cycles  # the last cycle always has a look
            earlier = planned[0] - 1  # the cycle before the first look could not reach even the whole 5 %
            assert earlier < abstats.MIN_CYCLES or abstats.distinct_schedules(variants, earlier) * abstats.ALPHA / (
                len(planned) + 1) < 1
    for cycles in range(2, {2: 7, 3: 4, 4: 3}[variants] + 1):  # every schedule, where they can be counted
        labels = _all_schedules(variants, cycles)
        rng = np.random.default_rng(variants * 10 + cycles)
        odds, ages = rng.normal(-3, 0.2, labels.shape[1]), np.arange(2.0, 2.0 + labels.shape[1])
        nuisance = np.stack([np.ones(len(ages)), np.log(ages)], axis=1)
        leads = abstats._leads(odds, nuisance, labels, variants)
        assert len(np.unique(np.round(leads, 9))) == abstats.distinct_schedules(variants, cycles)
    assert abstats.looks(3, 6) == [4, 5, 6] and abstats.looks(2, 9) == [7, 8, 9] and abstats.looks(4, 2) == [2]


def _days(plan: list[abstats.PlannedDay], ctr_of, impressions: int = 5000) -> list[abstats.DayResult]:
    """Exact figures (no sampling noise): what `ctr_of(day index, variant)` says."""
    return [abstats.DayResult(d.day, d.cycle, d.variant, 2.0 + k, impressions, impressions * ctr_of(k, d.variant))
            for k, d in enumerate(plan)]


def _design(plan: list[abstats.PlannedDay], seed: int = 1) -> abstats.Design:
    return abstats.Design(3, 6, tuple(plan), seed)


def _looks_through(design: abstats.Design, results: list[abstats.DayResult], last: int) -> list[abstats.Look]:
    """Every planned look up to cycle `last`, each made on what had come in by then."""
    made: list[abstats.Look] = []
    for cycle in abstats.looks(design.variants, design.max_cycles):
        if cycle <= last:
            made.append(abstats.make_look(design, cycle, results, made[-1] if made else None))
    return made


def test_identical_variants_under_falling_views_weekdays_and_day_to_day_noise_never_decide():
    rng = np.random.default_rng(11)
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, rng)
    noise = rng.normal(0, 0.08, len(plan))
    # The click rate halves over the test, dips at weekends and wobbles by 8 % a day: none of it is a variant's.
    results = _days(plan, lambda k, v: 0.06 * np.exp(-k / 25) * (0.9 if k % 7 in (5, 6) else 1.0) * np.exp(noise[k]))
    made = _looks_through(_design(plan), results, 6)
    assert [look.cycle for look in made] == [4, 5, 6]
    assert not any(look.decided for look in made) and all(look.p_value > 0.05 for look in made)
    assert made[-1].spent <= abstats.ALPHA


def test_overwhelming_data_decides_at_the_first_planned_look_with_its_uplift():
    """With three thumbnails the first look is after cycle 4; before it no lead, however large, decides."""
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, np.random.default_rng(2))
    results = _days(plan, lambda k, v: 0.05 * (1 + k) ** -0.3 * (1.5 if v == 2 else 1.0))
    first = abstats.make_look(_design(plan), 4, results, None)
    assert first.decided and first.leader == 2 and first.p_value <= abstats.ALPHA / 3 and first.share == 1 / 3
    found = abstats.analyse([r for r in results if r.cycle <= 4], _design(plan))
    assert found.uplift == pytest.approx(0.5, abs=0.06)  # odds, near the click-rate ratio at 5 %
    assert found.ctr[2] > found.ctr[1] and found.ctr[2] > found.ctr[3]
    early = abstats.analyse([r for r in results if r.cycle <= 3], _design(plan))
    assert early.leader == 2 and early.p_value > 1 / 36 - 0.01  # 36 distinct schedules: p is never under 1/36


def test_a_backfill_after_a_look_leaves_that_look_as_made_and_a_later_look_can_decide():
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, np.random.default_rng(5))
    noise = np.random.default_rng(6).normal(0, 0.1, len(plan))
    weak = _days(plan, lambda k, v: 0.05 * np.exp(noise[k]))
    strong = _days(plan, lambda k, v: 0.05 * np.exp(noise[k] / 10) * (1.4 if v == 3 else 1.0))
    design = _design(plan)
    first = abstats.make_look(design, 4, weak, None)
    assert not first.decided
    # YouTube then backfills every day so far with figures that, had they been there, would have decided at
    # the first look. Recomputing that look would now rule the observed schedule out; the kept look does not.
    assert abstats.make_look(design, 4, strong, None).decided
    second = abstats.make_look(design, 5, strong, first)
    assert second.decided and second.leader == 3 and second.spent <= 2 / 3 * abstats.ALPHA + 1e-9


def test_a_look_with_too_few_judged_days_waits_for_the_next_cycle_with_its_share():
    plan = abstats.plan_schedule(date(2026, 12, 1), 3, 6, np.random.default_rng(7))
    results = _days(plan, lambda k, v: 0.05 * (1.5 if v == 1 else 1.0))
    lost = {plan[k].day for k in (0, 4, 8)}  # three of the first twelve days never came: 75 %
    kept = [r for r in results if r.day not in lost]
    design = _design(plan)
    assert not abstats.enough_days(design, 4, kept)
    assert abstats.enough_days(design, 5, kept)  # 12 of 15
    look = abstats.make_look(design, 5, kept, None)
    assert look.share == pytest.approx(2 / 3) and look.decided and look.days == 12
    assert not abstats.enough_days(design, 5, [r for r in kept if r.cycle != 5])  # a cycle without a judged day


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
    lost: set[date] = field(default_factory=set)  # days whose report never comes

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
        """Files each day's figures 48 hours after it ends, the earliest the Reporting API documents ("48-72
        hours"): the variant up at noon Pacific gets that day's clicks."""
        last = pacific_day(now) - timedelta(days=3)
        with Session(self.store.engine) as session:
            for when, _ in self.shown[:1]:
                day = pacific_day(when)
                while day <= last:
                    if session.get(ReachDay, day.toordinal()) is None and day not in self.lost:
                        session.add(ReachDay(id=day.toordinal(), video_id="vid", day=day, impressions=5000,
                                             clicks=5000 * self.ctr[self._noon_variant(day)], report_created=now))
                    day += timedelta(days=1)
            session.commit()
        return 0

    def _noon_variant(self, day: date) -> int:
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=PACIFIC)
        return [v for t, v in self.shown if t <= noon][-1]

    def backfill(self, ctr: dict[int, float]) -> None:
        """A later report of every day filed so far, with new figures ("backfill data replaces previously
        delivered data", Reporting API)."""
        self.ctr = ctr
        with Session(self.store.engine) as session:
            for row in session.exec(select(ReachDay)):
                row.clicks = 5000 * ctr[self._noon_variant(row.day)]
                session.add(row)
            session.commit()


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
    # The first look is after cycle 4 (3 to 14 December); its last report comes 48 hours after 14 December ends.
    assert "after cycle 4, on Thu 17 Dec at the earliest" in texts[0]
    assert as_utc(done.finished).date() >= date(2026, 12, 17)
    # No plain interval around a leader picked at a data-dependent stop: the estimate says it is likely high.
    assert "95% interval" not in texts[-1] and "likely more than the real difference" in texts[-1]
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
    assert "could be told apart" in texts[-1] and "95% interval" not in texts[-1]
    assert [look.cycle for look in tester.looks_made(done)] == [4, 5, 6]


def test_a_backfill_after_a_look_does_not_stop_a_later_decision_and_the_report_says_so(folder: Path, tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    channel = Channel(store, {1: 0.05, 2: 0.05, 3: 0.05})
    tester = ABTester(store, lambda: channel, lambda: channel, seed=4)
    began = datetime(2026, 12, 1, 19, tzinfo=timezone.utc)
    test = tester.start_thumbnails("vid", folder, 7, began, began)
    texts = _run(lambda: tester, channel, began, 16.5, every_hours=0.5)  # to 17 December, the first look
    assert [look.cycle for look in tester.looks_made(test)] == [4] and "Not decided" in texts[-1]
    channel.backfill({1: 0.05, 2: 0.05, 3: 0.075})  # thumbnail 3's four days so far, now far ahead
    texts = _run(lambda: tester, channel, began + timedelta(days=16.5), 5, every_hours=0.5)
    done = tester.test(test.id)
    assert (done.winner, done.decided_by) == (3, "statistics")
    assert [look.cycle for look in tester.looks_made(done)] == [4, 5]
    assert "changed the figures of 4 day(s) after a look had used them" in texts[-1]


def test_a_look_with_too_few_judged_days_is_postponed_to_the_next_cycle(folder: Path, tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    channel = Channel(store, {1: 0.04, 2: 0.07, 3: 0.04}, lost={date(2026, 12, 4), date(2026, 12, 8), date(2026, 12, 12)})
    tester = ABTester(store, lambda: channel, lambda: channel, seed=9)
    began = datetime(2026, 12, 1, 19, tzinfo=timezone.utc)
    test = tester.start_thumbnails("vid", folder, 7, began, began)
    texts = _run(lambda: tester, channel, began, 24, every_hours=0.5)
    done = tester.test(test.id)
    cycle_4 = next(t for t in texts if "Cycle 4 of 6" in t)
    assert "9 of the 12 days so far could be judged" in cycle_4 and "waits for the next" in cycle_4
    looks = tester.looks_made(done)
    assert [(look.cycle, look.days) for look in looks] == [(5, 12)] and looks[0].share == pytest.approx(2 / 3)
    assert (done.winner, done.decided_by) == (2, "statistics")


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
