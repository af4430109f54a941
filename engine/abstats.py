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

Looks. Renaming the variants does not change the statistic, so c cycles tell (k!)^(c-1) schedules
apart and a look is planned only where that many can reach its share of the 5 %. Each look is kept
as it was made (its statistic, boundary and the schedules still undecided) and never made again: a
reach report that changes a day afterwards cannot undo a look. A look needs 80 % of the days planned
so far judged; with fewer it waits for the next cycle, its share of the 5 % with it.
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
MIN_DAY_SHARE = 0.8  # a look needs this share of the days planned so far judged, else it waits a cycle


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


def distinct_schedules(variants: int, cycles: int) -> int:
    """How many schedules of `cycles` cycles the statistic can tell apart: every renaming of the variants gives
    the same leader's lead, so (k!)^c schedules show (k!)^(c-1) values."""
    return math.factorial(variants) ** (cycles - 1)


def looks(variants: int, max_cycles: int) -> list[int]:
    """The cycles after which the test may decide: each planned look can reach its even share of the 5 %.

    A look at cycle c can only decide if its smallest possible p-value, one over the schedules it can tell
    apart, is within its share: distinct_schedules(k, c) x ALPHA / looks >= 1. Fewer looks give each a larger
    share, so the most looks that all qualify are planned, the latest ones (the last cycle always has a look).
    """
    candidates = list(range(MIN_CYCLES, max_cycles + 1))
    for count in range(len(candidates), 0, -1):
        able = [c for c in candidates if distinct_schedules(variants, c) * ALPHA / count >= 1]
        if len(able) >= count:
            return able[-count:]
    return []


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
class Design:
    """What every look of one test shares: its planned days (cycles 1 on) and the seed of its re-randomisations."""

    variants: int
    max_cycles: int
    planned: tuple[PlannedDay, ...]
    seed: int


@dataclass(frozen=True)
class Analysis:
    """What the judged days say about the variants now (a report's figures; decisions are made by looks)."""

    variants: int
    cycles: int  # cycles with a judged day
    leader: int
    p_value: float  # how often re-randomised schedules give a lead as large, from these days alone
    ctr: dict[int, float]  # pooled click rate per variant
    uplift: float  # the leader's click odds against the others' mean, relative (0.25 is +25 %): the leader's is
    #                the largest of k estimates, so it is likely overstated, the more so when decided early


@dataclass(frozen=True)
class Look:
    """One look as it was made. It is kept and never made again: later looks start from its undecided schedules,
    so a report that changes a day afterwards cannot undo it."""

    cycle: int
    share: float  # of the 5 %, what may be spent by the end of this look
    statistic: float  # the observed studentised lead
    p_value: float  # this look's own
    boundary: float
    spent: float  # of the 5 %, what the re-randomised schedules have spent by the end of this look
    alive: str  # hex of the packed flags: which re-randomised schedules have not crossed a boundary yet
    decided: bool
    leader: int
    days: int  # judged days it used


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


def _relabellings(design: Design) -> np.ndarray:
    """The schedule as planned (row 0) and re-randomised ones over every planned day: each cycle's days permuted
    again. Each cycle draws from a stream of its own and over all its planned days, judged or not, so every
    look sees the same re-randomised schedules whichever days have come in by then."""
    labels = np.array([d.variant for d in design.planned])
    cycles = np.array([d.cycle for d in design.planned])
    rows = np.tile(labels, (RANDOMISATIONS + 1, 1))
    for cycle in sorted(set(cycles.tolist())):
        members = cycles == cycle
        stream = np.random.default_rng([design.seed, cycle])
        rows[1:, members] = stream.permuted(np.tile(labels[members], (RANDOMISATIONS, 1)), axis=1)
    return rows


def _statistics(design: Design, results: list[DayResult]) -> np.ndarray:
    """The studentised lead of every re-randomised schedule (row 0 as run) on the judged days."""
    column = {d.day: i for i, d in enumerate(design.planned)}
    rows = _relabellings(design)[:, [column[r.day] for r in results]]
    # Rounded: schedules that fit equally well must tie, not differ in the last bits of floating point.
    return np.round(_leads(_log_odds(results), _nuisance(results), rows, design.variants), 9)


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


def enough_days(design: Design, cycle: int, results: list[DayResult]) -> bool:
    """Whether a look after `cycle` has its judged days: at least MIN_DAY_SHARE of the days planned so far, and
    one in that cycle itself (a look on fewer is postponed to the next cycle, with its share of the 5 %)."""
    planned = sum(d.cycle <= cycle for d in design.planned)
    judged = [r for r in results if r.cycle <= cycle]
    return any(r.cycle == cycle for r in judged) and len(judged) >= MIN_DAY_SHARE * planned


def make_look(design: Design, cycle: int, results: list[DayResult], previous: Look | None) -> Look:
    """The look after `cycle` on the judged days so far, spending what the planned looks up to it allow beyond
    what `previous` (the last look made, as made) spent."""
    planned = looks(design.variants, design.max_cycles)
    share = spent_share(sum(c <= cycle for c in planned), len(planned))  # a postponed look brings its share
    judged = [r for r in results if r.cycle <= cycle]
    statistic = _statistics(design, judged)
    alive = np.ones(len(statistic), bool) if previous is None else _unpack(previous.alive, len(statistic))
    spent_before = 0.0 if previous is None else previous.spent
    boundary = _boundary(statistic, alive, ALPHA * share - spent_before)
    crossed = (statistic >= boundary) & alive
    return Look(cycle, share, float(statistic[0]), _p_value(statistic), boundary,
                spent_before + float(crossed.mean()), _pack(alive & ~crossed), bool(crossed[0]),
                _leader(judged, design.variants), len(judged))


def _p_value(statistic: np.ndarray) -> float:
    """How often the re-randomised schedules lead at least as much as the one run (row 0)."""
    return float((statistic >= statistic[0] - 1e-12).mean())


def _pack(flags: np.ndarray) -> str:
    return np.packbits(flags).tobytes().hex()


def _unpack(packed: str, count: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(packed), np.uint8))[:count].astype(bool)


def _leader(results: list[DayResult], variants: int) -> int:
    labels = np.array([r.variant for r in results])
    effect = _fit(_log_odds(results), _nuisance(results), labels[None, :], variants)[0][0]
    return int(effect.argmax()) + 1


def analyse(results: list[DayResult], design: Design) -> Analysis:
    """The judged days as they stand: the leader, its uplift, and the p-value these days alone would give."""
    statistic = _statistics(design, results)
    leader = _leader(results, design.variants)
    ctr = {v: _pooled_ctr([r for r in results if r.variant == v]) for v in range(1, design.variants + 1)}
    return Analysis(design.variants, len({r.cycle for r in results}), leader, _p_value(statistic), ctr,
                    _uplift(results, leader, design.variants))


def _pooled_ctr(days: list[DayResult]) -> float:
    shown = sum(d.impressions for d in days)
    return sum(d.clicks for d in days) / shown if shown else 0.0


def _uplift(results: list[DayResult], leader: int, variants: int) -> float:
    """The leader's log-odds over the others' mean, beside the video's log age, as relative odds.

    No interval comes with it: a plain interval around the largest of k estimates at a data-dependent stop
    excludes zero for most false winners (issue 35), so none is shown rather than one that misleads."""
    odds = _log_odds(results)
    labels = np.array([r.variant for r in results])
    present = [v for v in range(1, variants + 1) if (labels == v).any()]
    if len(present) < 2:
        return 0.0
    columns = [np.log([r.age_days for r in results])] + [(labels == v).astype(float) for v in present]
    design = np.stack(columns, axis=1)  # the variants' columns sum to one: no separate intercept
    contrast = np.array([0.0] + [1.0 if v == leader else -1.0 / (len(present) - 1) for v in present])
    coefficients, *_ = np.linalg.lstsq(design, odds, rcond=None)
    return math.expm1(float(contrast @ coefficients))
