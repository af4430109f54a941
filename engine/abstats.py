"""The A/B test's design and statistics: whole days in a balanced random order, judged by randomisation.

Design. Each variant (a thumbnail or a title) is on the video for whole Pacific days, the unit
YouTube's reach reports count in. Days come in cycles; each cycle is a fresh random permutation of
the variants, so every variant gets early and late days and every weekday in turn. Days the video is
under 24 hours old are burn-in: no variant is judged on them.

Statistics. The unit is the day, not the impression: impressions within a day are not independent
trials (most of the spread is between days), and the video's age and the weekday move every day's
click rate. Each day's click rate becomes a log-odds; a least-squares fit of log-odds on the
video's log age and the variants gives each variant's effect, and the leader is the largest. The
statistic is the leader's effect over the spread the fit leaves (a studentised lead: the spread
depends on every day's label, not only the leader's, which gives the design enough distinct
re-randomisations to decide early, and rewards a lead that the other days also fit). How often a
lead that large arises by chance is read off the design itself: the same statistic over
re-randomised schedules (each cycle's days permuted again, the click data kept), so the test is
exact whatever the trends, weekdays and day-to-day noise. It decides only at planned looks after
whole cycles; the 5 % is spent evenly across the looks, each look's boundary taken from the joint
re-randomised distribution of all looks so far (a group-sequential permutation test), so looking
several times does not inflate it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

PACIFIC = ZoneInfo("America/Los_Angeles")  # YouTube's reports count days in Pacific time
ALPHA = 0.05
MIN_CYCLES = 2  # at least two full cycles before any decision
RANDOMISATIONS = 2000  # re-randomised schedules drawn per look
SMALLEST_LOOK_P = 0.005  # a look is planned only once the design can tell a p-value this small


def pacific_day(moment: datetime) -> date:
    """The Pacific calendar day of `moment`."""
    return _utc(moment).astimezone(PACIFIC).date()


def day_start(day: date) -> datetime:
    """Midnight Pacific at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=PACIFIC)


def first_judged_day(published: datetime, now: datetime) -> date:
    """The first whole Pacific day after `now` on which the video is at least 24 hours old all day."""
    day = pacific_day(now) + timedelta(days=1)
    while day_start(day) < _utc(published) + timedelta(hours=24):
        day += timedelta(days=1)
    return day


def _utc(moment: datetime) -> datetime:
    """A database time (naive UTC) or an aware one, as aware UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class PlannedDay:
    """One whole Pacific day of the test: which variant is up, in which cycle."""

    day: date
    cycle: int  # 1, 2, …
    variant: int  # 1 … k


def plan_schedule(first_day: date, variants: int, cycles: int, rng: np.random.Generator) -> list[PlannedDay]:
    """`cycles` cycles from `first_day`, each a fresh random permutation of the variants."""
    days: list[PlannedDay] = []
    for cycle in range(1, cycles + 1):
        for variant in rng.permutation(variants) + 1:
            days.append(PlannedDay(first_day + timedelta(days=len(days)), cycle, int(variant)))
    return days


def looks(variants: int, max_cycles: int) -> list[int]:
    """The cycles after which the test may decide: from the first whose design can reach a small p-value."""
    per_cycle = math.factorial(variants)
    return [c for c in range(MIN_CYCLES, max_cycles + 1) if per_cycle ** c * SMALLEST_LOOK_P >= 1]


@dataclass(frozen=True)
class DayResult:
    """One judged day: its variant and cycle, the video's age, and what the reach report says."""

    day: date
    cycle: int
    variant: int
    age_days: float
    impressions: int
    clicks: float


@dataclass(frozen=True)
class Analysis:
    """What the judged days say about the variants at one look."""

    variants: int
    cycles: int  # complete cycles judged
    leader: int
    p_value: float  # how often re-randomised schedules give a lead as large (this look alone)
    decided: bool  # the lead crossed this look's boundary
    ctr: dict[int, float]  # pooled click rate per variant
    uplift: float  # the leader's click odds against the others' mean, relative (0.25 is +25 %)
    interval: tuple[float, float]  # 95 % interval of the uplift


def _log_odds(results: list[DayResult]) -> np.ndarray:
    clicks = np.array([r.clicks for r in results], float)
    misses = np.array([r.impressions - r.clicks for r in results], float)
    return np.log((clicks + 0.5) / (misses + 0.5))  # the empirical logit: finite on a day without clicks


def _nuisance(results: list[DayResult]) -> np.ndarray:
    """What moves every variant alike: a constant and the video's log age (weekdays are left to the randomisation)."""
    return np.stack([np.ones(len(results)), np.log([r.age_days for r in results])], axis=1)


def _fit(odds: np.ndarray, nuisance: np.ndarray, labels: np.ndarray, variants: int) -> tuple[np.ndarray, np.ndarray]:
    """Per labelling (rows of `labels`): each variant's effect on the log-odds beside the video's log age, and
    the squared residual left over."""
    residual_maker = np.eye(len(odds)) - nuisance @ np.linalg.pinv(nuisance)
    centred = residual_maker @ odds
    indicators = np.einsum("ij,bjk->bik", residual_maker, np.eye(variants)[labels - 1])
    effects = np.einsum("bkn,n->bk", np.linalg.pinv(indicators), centred)
    fitted = np.einsum("bnk,bk->bn", indicators, effects)
    return effects, (centred ** 2).sum() - (fitted ** 2).sum(axis=1)  # a projection: what it leaves is the rest


def _leads(odds: np.ndarray, nuisance: np.ndarray, labels: np.ndarray, variants: int) -> np.ndarray:
    """Per labelling: the largest variant effect in units of the residual spread (a studentised lead)."""
    effects, unexplained = _fit(odds, nuisance, labels, variants)
    return effects.max(axis=1) / np.sqrt(np.maximum(unexplained, 1e-12))


def _relabellings(results: list[DayResult], seed: int) -> np.ndarray:
    """The schedule as run (row 0) and re-randomised ones: each cycle's days permuted again.

    Each cycle draws from a stream of its own, so a look recomputes earlier looks' boundaries
    exactly as they were.
    """
    labels = np.array([r.variant for r in results])
    rows = np.tile(labels, (RANDOMISATIONS + 1, 1))
    for cycle in sorted({r.cycle for r in results}):
        members = np.array([r.cycle == cycle for r in results])
        stream = np.random.default_rng([seed, cycle])
        rows[1:, members] = stream.permuted(np.tile(labels[members], (RANDOMISATIONS, 1)), axis=1)
    return rows


def _boundary(statistic: np.ndarray, alive: np.ndarray, budget: float) -> float:
    """The smallest boundary that the still-undecided re-randomised schedules cross no more often than `budget`."""
    boundary = np.inf
    for value in np.unique(statistic[alive])[::-1]:
        if ((statistic >= value) & alive).mean() > budget:
            break
        boundary = value
    return float(boundary)


def spent_share(look: int, looks: int) -> float:
    """The share of the 5 % spent by the end of look `look` (1-based) of `looks`: evenly."""
    return look / looks


def _sequential(results: list[DayResult], variants: int, planned: list[int], seed: int) -> tuple[bool, float]:
    """Whether the last look's lead crosses its boundary, and that look's own p-value."""
    rows = _relabellings(results, seed)
    odds = _log_odds(results)
    nuisance = _nuisance(results)
    cycles = np.array([r.cycle for r in results])
    current = int(cycles.max())
    alive, spent = np.ones(len(rows), bool), 0.0
    crossed_now, p_value = False, 1.0
    made = [look for look in planned if look <= current]
    for number, look in enumerate(made, start=1):
        upto = cycles <= look
        # Rounded: schedules that fit equally well must tie, not differ in the last bits of floating point.
        statistic = np.round(_leads(odds[upto], nuisance[upto], rows[:, upto], variants), 9)
        boundary = _boundary(statistic, alive, ALPHA * spent_share(number, len(planned)) - spent)
        crossed = (statistic >= boundary) & alive
        spent += crossed.mean()
        alive &= ~crossed
        crossed_now, p_value = bool(crossed[0]), float((statistic >= statistic[0] - 1e-12).mean())
    return (crossed_now and bool(made) and made[-1] == current), p_value


def analyse(results: list[DayResult], variants: int, max_cycles: int, seed: int = 0) -> Analysis:
    """The judged days at the look after their last cycle: the leader, whether it is decided, the uplift."""
    odds = _log_odds(results)
    labels = np.array([r.variant for r in results])
    effect = _fit(odds, _nuisance(results), labels[None, :], variants)[0][0]
    leader = int(effect.argmax()) + 1
    decided, p_value = _sequential(results, variants, looks(variants, max_cycles), seed)
    uplift, interval = _uplift(results, leader, variants)
    ctr = {v: _pooled_ctr([r for r in results if r.variant == v]) for v in range(1, variants + 1)}
    return Analysis(variants, len({r.cycle for r in results}), leader, p_value, decided, ctr, uplift, interval)


def _pooled_ctr(days: list[DayResult]) -> float:
    shown = sum(d.impressions for d in days)
    return sum(d.clicks for d in days) / shown if shown else 0.0


def _uplift(results: list[DayResult], leader: int, variants: int) -> tuple[float, tuple[float, float]]:
    """The leader's log-odds over the others' mean, beside the video's log age: relative odds, and a t interval."""
    odds = _log_odds(results)
    labels = np.array([r.variant for r in results])
    present = [v for v in range(1, variants + 1) if (labels == v).any()]
    if len(present) < 2:
        return 0.0, (float("nan"), float("nan"))
    columns = [np.log([r.age_days for r in results])] + [(labels == v).astype(float) for v in present]
    design = np.stack(columns, axis=1)  # the variants' columns sum to one: no separate intercept
    contrast = np.array([0.0] + [1.0 if v == leader else -1.0 / (len(present) - 1) for v in present])
    coefficients, *_ = np.linalg.lstsq(design, odds, rcond=None)
    gap = float(contrast @ coefficients)
    freedom = len(odds) - np.linalg.matrix_rank(design)
    if freedom < 1:
        return math.expm1(gap), (float("nan"), float("nan"))
    from scipy import stats

    spread = float(((odds - design @ coefficients) ** 2).sum() / freedom)
    half = float(stats.t.ppf(0.975, freedom) * math.sqrt(spread * contrast @ np.linalg.pinv(design.T @ design) @ contrast))
    return math.expm1(gap), (math.expm1(gap - half), math.expm1(gap + half))
