"""The thumbnail A/B test: variants take turns on a published video, and statistics pick the winner.

YouTube's own Test & Compare has no API, so the test runs here. `ABTester.tick(now)` does whatever
is due at `now` (close the running slot with a metrics snapshot, choose and set the next thumbnail,
send the 24-hour report, decide, apply the winner); everything it needs is in the database, so a
restarted process re-arms by simply ticking again, and work missed while it was down is caught up.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats as scipy_stats
from sqlmodel import Session, select

from engine.errors import InputError, VideoFactoryError
from engine.store import Store, as_utc
from engine.tables import ABDay, ABSlot, ABTest

log = logging.getLogger(__name__)

PACIFIC = ZoneInfo("America/Los_Angeles")  # YouTube Analytics counts days in Pacific time
ALPHA = 0.05


# --- statistics ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arm:
    """What one variant has gathered: successes out of trials (clicks of impressions, or views in hours)."""

    variant: int
    successes: float
    exposure: float  # impressions, or hours on screen


@dataclass(frozen=True)
class Verdict:
    """What the numbers say: the leader, how sure, and whether that is enough to stop."""

    leader: int
    probability_best: dict[int, float]
    p_value: float
    significant: bool
    enough_data: bool


def two_proportion_p_value(clicks_a: float, shown_a: float, clicks_b: float, shown_b: float) -> float:
    """Two-sided p-value of the z-test that two click rates are equal (pooled standard error)."""
    if min(shown_a, shown_b) <= 0:
        return 1.0
    pooled = (clicks_a + clicks_b) / (shown_a + shown_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / shown_a + 1 / shown_b))
    if spread == 0:
        return 1.0
    z = (clicks_a / shown_a - clicks_b / shown_b) / spread
    return float(2 * scipy_stats.norm.sf(abs(z)))


def rate_p_value(count_a: float, hours_a: float, count_b: float, hours_b: float) -> float:
    """Two-sided p-value that two Poisson rates (views per hour) are equal: the conditional binomial test."""
    total = round(count_a + count_b)
    if total == 0 or min(hours_a, hours_b) <= 0:
        return 1.0
    return float(scipy_stats.binomtest(round(count_a), total, hours_a / (hours_a + hours_b)).pvalue)


def _posterior_draws(arms: list[Arm], kind: str, rng: np.random.Generator, draws: int) -> np.ndarray:
    if kind == "ctr":  # Beta(1 + clicks, 1 + misses) per arm
        return np.stack([rng.beta(1 + a.successes, 1 + max(a.exposure - a.successes, 0), draws) for a in arms])
    # Poisson rate per hour, Gamma(1 + views, hours) posterior
    return np.stack([rng.gamma(1 + a.successes, 1 / max(a.exposure, 1e-9), draws) for a in arms])


def probability_best(arms: list[Arm], kind: str, rng: np.random.Generator | None = None, draws: int = 20000) -> dict[int, float]:
    """The Bayesian probability that each variant has the highest rate."""
    rng = rng or np.random.default_rng(0)
    samples = _posterior_draws(arms, kind, rng, draws)
    wins = np.bincount(samples.argmax(axis=0), minlength=len(arms)) / draws
    return {arm.variant: float(share) for arm, share in zip(arms, wins)}


def judge(arms: list[Arm], kind: str, minimum: float) -> Verdict:
    """Leader against runner-up: significant when p < 0.05 (Bonferroni over the other variants) and every
    variant has at least `minimum` impressions (or views)."""
    rates = {a.variant: a.successes / a.exposure if a.exposure else 0.0 for a in arms}
    ranked = sorted(arms, key=lambda a: rates[a.variant], reverse=True)
    leader, runner_up = ranked[0], ranked[1]
    if kind == "ctr":
        p = two_proportion_p_value(leader.successes, leader.exposure, runner_up.successes, runner_up.exposure)
        enough = all(a.exposure >= minimum for a in arms)
    else:
        p = rate_p_value(leader.successes, leader.exposure, runner_up.successes, runner_up.exposure)
        enough = sum(a.successes for a in arms) >= minimum and all(a.exposure > 0 for a in arms)
    significant = enough and p < ALPHA / max(1, len(arms) - 1)
    return Verdict(leader.variant, probability_best(arms, kind), p, significant, enough)


def next_variant(arms: list[Arm], kind: str, shown: list[int], adaptive: bool, rng: np.random.Generator) -> int:
    """The variant for the next slot: each once in turn first; then in turn, or by Thompson sampling."""
    variants = [a.variant for a in arms]
    unseen = [v for v in variants if v not in shown]
    if unseen:
        return unseen[0]
    if adaptive:  # one draw from each posterior; the highest draw gets the slot
        draws = _posterior_draws(arms, kind, rng, 1)[:, 0]
        return variants[int(draws.argmax())]
    return variants[(variants.index(shown[-1]) + 1) % len(variants)]


@dataclass(frozen=True)
class Notice:
    """A message for a chat (None: the log only)."""

    chat_id: int | None
    text: str



# --- running the test ------------------------------------------------------------------------------

class ABTester:
    """Starts tests and does what is due; `channel()` gives the YouTube client (engine.youtube.YouTube)."""

    def __init__(self, store: Store, channel: Callable[[], object], min_impressions: int = 1000,
                 min_views: int = 300, seed: int | None = None) -> None:
        self.store = store
        self.channel = channel
        self.min_impressions = min_impressions
        self.min_views = min_views
        self.rng = np.random.default_rng(seed)

    # records
    def tests(self, chat_id: int | None = None, running_only: bool = False) -> list[ABTest]:
        """Tests, newest first; one chat's, and only running ones, on request."""
        with Session(self.store.engine) as session:
            query = select(ABTest).order_by(ABTest.id.desc())  # type: ignore[union-attr]
            if chat_id is not None:
                query = query.where(ABTest.chat_id == chat_id)
            if running_only:
                query = query.where(ABTest.state == "running")
            return list(session.exec(query))

    def test(self, test_id: int) -> ABTest:
        """One test by number."""
        with Session(self.store.engine) as session:
            found = session.get(ABTest, test_id)
        if found is None:
            raise InputError(f"there is no A/B test {test_id}")
        return found

    def slots(self, test_id: int) -> list[ABSlot]:
        """A test's slots in order."""
        with Session(self.store.engine) as session:
            return list(session.exec(select(ABSlot).where(ABSlot.test_id == test_id).order_by(ABSlot.id)))  # type: ignore[arg-type]

    def days(self, test_id: int) -> list[ABDay]:
        """A test's Analytics days in order."""
        with Session(self.store.engine) as session:
            return list(session.exec(select(ABDay).where(ABDay.test_id == test_id).order_by(ABDay.day)))  # type: ignore[arg-type]

    # actions
    def start(self, video_id: str, folder: Path, chat_id: int | None, now: datetime, slot_hours: float = 24.0,
              max_days: float = 7.0, adaptive: bool = False) -> ABTest:
        """Begin a test: variant 1 goes up now."""
        images = [folder / "thumbnails" / f"{k}.jpg" for k in (1, 2, 3)]
        missing = [p.name for p in images if not p.is_file()]
        if missing:
            raise InputError(f"{folder} lacks thumbnails {', '.join(missing)}; an A/B test needs all three")
        test = self.store.add(ABTest(video_id=video_id, folder=str(folder), chat_id=chat_id, started=now,
                                     slot_hours=slot_hours, max_days=max_days, adaptive=adaptive))
        self._show(test, 1, now)  # type: ignore[arg-type]
        return test  # type: ignore[return-value]

    def _show(self, test: ABTest, variant: int, now: datetime) -> None:
        youtube = self.channel()
        youtube.set_thumbnail(test.video_id, Path(test.folder) / "thumbnails" / f"{variant}.jpg")  # type: ignore[attr-defined]
        views = youtube.stats(test.video_id).views  # type: ignore[attr-defined]
        self.store.add(ABSlot(test_id=test.id, variant=variant, start=now, views_start=views))  # type: ignore[arg-type]

    def _close_slot(self, test: ABTest, slot: ABSlot, now: datetime) -> None:
        slot.end = now
        slot.views_end = self.channel().stats(test.video_id).views  # type: ignore[attr-defined]
        self.store.add(slot)

    def arms(self, test: ABTest, now: datetime) -> tuple[list[Arm], str]:
        """Each variant's numbers so far, and their kind: "ctr" (Analytics) or "views" (views per hour)."""
        slots = self.slots(test.id)  # type: ignore[arg-type]
        days = self.days(test.id)  # type: ignore[arg-type]
        variants = list(range(1, test.variants + 1))
        if days and sum(d.impressions for d in days) > 0:
            # A day's impressions and clicks go to the variants in proportion to their hours on screen that day.
            shown = {v: 0.0 for v in variants}
            clicks = {v: 0.0 for v in variants}
            for day in days:
                hours = _hours_per_variant(slots, day.day, now)
                total = sum(hours.values())
                for variant, share in hours.items():
                    if total:
                        shown[variant] += day.impressions * share / total
                        clicks[variant] += day.impressions * day.click_rate * share / total
            return [Arm(v, clicks[v], shown[v]) for v in variants], "ctr"
        views = {v: 0.0 for v in variants}
        hours = {v: 0.0 for v in variants}
        for slot in slots:
            end = as_utc(slot.end) if slot.end else now
            hours[slot.variant] += (end - as_utc(slot.start)).total_seconds() / 3600
            if slot.views_end is not None:
                views[slot.variant] += max(0, slot.views_end - slot.views_start)
        return [Arm(v, views[v], hours[v]) for v in variants], "views"

    def _refresh_analytics(self, test: ABTest, now: datetime) -> None:
        """Read the test's days from YouTube Analytics again: figures arrive late and are corrected."""
        youtube = self.channel()
        first = as_utc(test.started).astimezone(PACIFIC).date()
        last = now.astimezone(PACIFIC).date()
        figures = {}
        day = first
        while day <= last:
            metrics = youtube.thumbnail_metrics(test.video_id, day, day)  # type: ignore[attr-defined]
            if metrics is not None:
                figures[day] = metrics
            day += timedelta(days=1)
        if getattr(youtube, "reporting", None) is not None:
            try:  # the bulk reach reports are final: they replace the Analytics figures of their days
                figures |= {d: m for d, m in youtube.reach_days(test.video_id, as_utc(test.started)).items()  # type: ignore[attr-defined]
                            if first <= d <= last}
            except VideoFactoryError as error:
                log.info("A/B test %s: no reach reports (%s)", test.id, error)
        rows = [ABDay(test_id=test.id, day=d, impressions=m.impressions, click_rate=m.click_rate)  # type: ignore[arg-type]
                for d, m in sorted(figures.items())]
        with Session(self.store.engine) as session:
            for old in session.exec(select(ABDay).where(ABDay.test_id == test.id)):
                session.delete(old)
            for row in rows:
                session.add(row)
            session.commit()

    def tick(self, now: datetime) -> list[Notice]:
        """Do everything due at `now` for every running test; the messages to send."""
        notices: list[Notice] = []
        for test in self.tests(running_only=True):
            try:
                notices += self._tick_one(test, now)
            except VideoFactoryError as error:  # one test's trouble must not stop the others
                log.warning("A/B test %s: %s", test.id, error)
                notices.append(Notice(test.chat_id, f"⚠️ A/B test #{test.id}: {error}. I will try again later."))
        return notices

    def _tick_one(self, test: ABTest, now: datetime) -> list[Notice]:
        notices: list[Notice] = []
        slots = self.slots(test.id)  # type: ignore[arg-type]
        current = slots[-1]
        self._refresh_analytics(test, now)
        if now >= slot_end(as_utc(current.start), test.slot_hours):
            # Due (or overdue after a restart: the thumbnail stayed up meanwhile, so the slot simply ran longer).
            self._close_slot(test, current, now)
            arms, kind = self.arms(test, now)
            chosen = next_variant(arms, kind, [s.variant for s in slots], test.adaptive, self.rng)
            self._show(test, chosen, now)
        if not test.report_sent and now >= as_utc(test.started) + timedelta(hours=24):
            test.report_sent = True
            self.store.add(test)
            notices.append(Notice(test.chat_id, self.report(test, now, "24-hour report")))
        arms, kind = self.arms(test, now)
        verdict = judge(arms, kind, self.min_impressions if kind == "ctr" else self.min_views)
        out_of_time = now >= as_utc(test.started) + timedelta(days=test.max_days)
        if verdict.significant or out_of_time:
            notices.append(self.finish(test, verdict.leader, now, "statistics" if verdict.significant else "time limit"))
        return notices

    def finish(self, test: ABTest, winner: int, now: datetime, decided_by: str) -> Notice:
        """End a test: the winner goes up for good, and the final report."""
        if not 1 <= winner <= test.variants:
            raise InputError(f"variant {winner} does not exist; choose 1 to {test.variants}")
        slots = self.slots(test.id)  # type: ignore[arg-type]
        if slots and slots[-1].end is None:
            self._close_slot(test, slots[-1], now)
        self.channel().set_thumbnail(test.video_id, Path(test.folder) / "thumbnails" / f"{winner}.jpg")  # type: ignore[attr-defined]
        test.state, test.winner, test.decided_by, test.finished = "done", winner, decided_by, now
        self.store.add(test)
        return Notice(test.chat_id, self.report(test, now, "Final report"))

    def stop(self, test: ABTest, now: datetime) -> Notice:
        """Stop a test without a winner; the thumbnail on screen stays."""
        slots = self.slots(test.id)  # type: ignore[arg-type]
        if slots and slots[-1].end is None:
            self._close_slot(test, slots[-1], now)
        test.state, test.finished = "stopped", now
        self.store.add(test)
        return Notice(test.chat_id, f"A/B test #{test.id} stopped; thumbnail {slots[-1].variant if slots else 1} stays.")

    def report(self, test: ABTest, now: datetime, heading: str) -> str:
        """The test in a few lines: per variant its numbers, share and chance of being best; leader and advice."""
        arms, kind = self.arms(test, now)
        verdict = judge(arms, kind, self.min_impressions if kind == "ctr" else self.min_views)
        hours = (now - as_utc(test.started)).total_seconds() / 3600
        lines = [f"📊 {heading}: A/B test #{test.id}, video {test.video_id}, {hours:.0f} h in"]
        total = sum(a.exposure for a in arms) or 1.0
        for arm in arms:
            if kind == "ctr":
                rate = f"{arm.exposure:.0f} impressions, CTR {arm.successes / arm.exposure:.2%}" if arm.exposure else "no impressions yet"
            else:
                rate = f"{arm.successes:.0f} views in {arm.exposure:.1f} h, {arm.successes / arm.exposure:.1f}/h" if arm.exposure else "not shown yet"
            lines.append(f"• thumbnail {arm.variant}: {rate}, {arm.exposure / total:.0%} of the test, "
                         f"{verdict.probability_best[arm.variant]:.0%} chance of being best")
        basis = "click-through rate (YouTube Analytics)" if kind == "ctr" else "views per hour (no impression data yet)"
        lines.append(f"Measured by {basis}; leader: thumbnail {verdict.leader}, p = {verdict.p_value:.3f}.")
        if test.state == "done":
            how = {"statistics": "the difference is significant", "time limit": "the time limit was reached",
                   "hand": "chosen by hand"}.get(test.decided_by or "", "")
            lines.append(f"✅ Thumbnail {test.winner} is now the video's thumbnail ({how}).")
        elif verdict.significant:
            lines.append(f"Recommendation: thumbnail {verdict.leader} is better; the test ends on its next check.")
        elif not verdict.enough_data:
            lines.append("Recommendation: too little data to call it yet; the test goes on.")
        else:
            lines.append("Recommendation: no clear difference yet; the test goes on.")
        return "\n".join(lines)


def slot_end(start: datetime, hours: float) -> datetime:
    """When a slot that began at `start` ends. Whole days end at midnight Pacific time, YouTube Analytics'
    day boundary, so each day's impressions and clicks belong to one thumbnail."""
    end = start + timedelta(hours=hours)
    if hours < 24 or hours % 24:
        return end
    local = end.astimezone(PACIFIC)
    midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=PACIFIC)
    if midnight - start < timedelta(hours=12):  # too short a first slot: run on to the next midnight
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=PACIFIC)
    return midnight


def _hours_per_variant(slots: list[ABSlot], day: date, now: datetime) -> dict[int, float]:
    """Hours each variant was on screen during one Pacific-time day."""
    begin = datetime.combine(day, datetime.min.time(), tzinfo=PACIFIC)
    finish = begin + timedelta(days=1)
    hours: dict[int, float] = {}
    for slot in slots:
        start, end = as_utc(slot.start), as_utc(slot.end) if slot.end else now
        overlap = (min(end, finish) - max(start, begin)).total_seconds() / 3600
        if overlap > 0:
            hours[slot.variant] = hours.get(slot.variant, 0.0) + overlap
    return hours
