"""How likely an A/B test is to find a better thumbnail on this channel, told before the test runs.

A test on a small channel rarely decides: at 300 impressions a day a 25 % better thumbnail is found
about one time in four. The chance comes from a power table that `bench/abtest.py` writes from its
simulated world and the package ships (engine/abtest_power.json), read at the channel's usual volume:
the median daily impressions of its last five tested videos in their first 21 days, from the reach
reports, or DEFAULT_IMPRESSIONS when there are none yet.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources

import numpy as np
from sqlmodel import Session, select

from engine.store import Store
from engine.tables import ReachDay

DEFAULT_IMPRESSIONS = 1000  # a day, when the channel has no reach figures yet
RECENT_VIDEOS = 5
FIRST_DAYS = 21
LONGER_DAYS = 42  # the longer test offered where it helps
HELPS = 0.10  # offered when it raises the chance of finding a +25 % thumbnail by this much


@dataclass(frozen=True)
class PowerEstimate:
    """What a thumbnail test can expect on this channel."""

    impressions_per_day: int
    measured: bool  # from the channel's reach reports (else the default)
    plus_10: float  # the chance a 10 % better thumbnail is found
    plus_25: float
    max_days: int
    plus_25_longer: float | None  # the same with LONGER_DAYS, where that helps


def shipped_table() -> dict:
    """The power table the package ships."""
    return json.loads(resources.files("engine").joinpath("abtest_power.json").read_text(encoding="utf-8"))


def power_of(table: dict, impressions: float, uplift: float, max_days: int) -> float:
    """The table's chance of finding `uplift` at `impressions` a day in a test of `max_days` days: interpolated in
    the log of the impressions, in the uplift and in the days, held at the table's edges."""
    rows = sorted((int(days), grid) for days, grid in table["power"].items())
    by_days = [(days, _by_volume(table, grid, impressions, uplift)) for days, grid in rows]
    return _interpolate([float(d) for d, _ in by_days], [p for _, p in by_days], float(max_days))


def _by_volume(table: dict, grid: list[list[float]], impressions: float, uplift: float) -> float:
    per_volume = [_interpolate(table["uplifts"], row, uplift) for row in grid]
    volumes = [math.log(n) for n in table["impressions_per_day"]]
    return _interpolate(volumes, per_volume, math.log(max(impressions, 1.0)))


def _interpolate(xs: list[float], ys: list[float], x: float) -> float:
    return float(min(1.0, max(0.0, np.interp(x, xs, ys))))


def channel_impressions(store: Store, videos: set[str]) -> tuple[int, bool]:
    """The median daily impressions of the last five of `videos` with reach figures, in their first 21 days,
    and whether there were any (else DEFAULT_IMPRESSIONS)."""
    with Session(store.engine) as session:
        rows = list(session.exec(select(ReachDay).where(ReachDay.video_id.in_(videos))))  # type: ignore[attr-defined]
    by_video: dict[str, list[ReachDay]] = {}
    for row in rows:
        by_video.setdefault(row.video_id, []).append(row)
    recent = sorted(by_video.values(), key=lambda days: min(d.day for d in days))[-RECENT_VIDEOS:]
    daily = []
    for days in recent:
        first = min(d.day for d in days)
        daily += [d.impressions for d in days if d.day < first + timedelta(FIRST_DAYS)]
    if not daily:
        return DEFAULT_IMPRESSIONS, False
    return round(statistics.median(daily)), True


def estimate(store: Store, videos: set[str], max_days: int, table: dict | None = None) -> PowerEstimate:
    """What a thumbnail test of `max_days` days can expect on the channel of `videos` (its tested videos)."""
    table = table or shipped_table()
    impressions, measured = channel_impressions(store, videos)
    plus_25 = power_of(table, impressions, 0.25, max_days)
    longer = power_of(table, impressions, 0.25, LONGER_DAYS) if max_days < LONGER_DAYS else None
    return PowerEstimate(impressions, measured, power_of(table, impressions, 0.10, max_days), plus_25, max_days,
                         longer if longer is not None and longer - plus_25 >= HELPS else None)


def told(found: PowerEstimate) -> str:
    """The estimate in words, for the chat, the command line and the dashboard."""
    volume = (f"with about {found.impressions_per_day:,} impressions a day" if found.measured else
              f"with no reach figures yet (taking {found.impressions_per_day:,} impressions a day)")
    text = (f"How likely this test is to find a better thumbnail: {volume}, a {found.max_days}-day test finds a 25% "
            f"better one {_chance(found.plus_25)} and a 10% better one {_chance(found.plus_10)}.")
    if found.plus_25_longer is not None:
        text += (f" Allowing {LONGER_DAYS} days (VF_ABTEST_MAX_DAYS={LONGER_DAYS}) would raise the first to "
                 f"{_chance(found.plus_25_longer)}.")
    return text


def _chance(p: float) -> str:
    """A chance in words a channel owner reads at a glance: 'about one time in four (27%)'."""
    if p >= 0.95:
        return f"almost always ({p:.0%})"
    if p < 0.03:
        return f"almost never ({p:.0%})"
    if p > 0.5:
        return f"about {p:.0%} of the time"
    return f"about one time in {round(1 / p)} ({p:.0%})"
