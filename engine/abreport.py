"""What an A/B test tells its chat: the early report, one per completed cycle, the final one, and the days ahead.

Reach reports come two or three days after their day, so the 24-hour report is about the schedule
and never a verdict; the cycle reports show each variant's click rate per day and the leader with
an interval; the final report says what was decided and why.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine import abstats
from engine.abstats import pacific_day
from engine.store import as_utc
from engine.tables import ABTest

if TYPE_CHECKING:
    from engine.abtest import ABTester

AHEAD_DAYS = 7


def variant_name(test: ABTest, variant: int) -> str:
    """"thumbnail 2", or 'title 2 ("…")'."""
    if test.kind == "title":
        return f'title {variant} ("{json.loads(test.titles_json)[variant - 1]}")'
    return f"thumbnail {variant}"


def _date(day) -> str:  # noqa: ANN001 - a date
    return day.strftime("%a %-d %b")


def ahead(tester: ABTester, test: ABTest, now: datetime, days: int = AHEAD_DAYS) -> str:
    """The next days of the schedule: which variant is up when."""
    today = pacific_day(now)
    coming = [d for d in tester.schedule(test.id) if d.day >= today][:days]  # type: ignore[arg-type]
    if not coming:
        return "Schedule: no days left; the test waits for the last reach reports."
    parts = [f"{_date(d.day)}: {variant_name(test, d.variant)}" + ("" if d.cycle else " (approved, after the test)")
             for d in coming]
    return "Schedule (Pacific days): " + "; ".join(parts) + "."


def early(tester: ABTester, test: ABTest, now: datetime) -> str:
    """The 24-hour report: the plan and what can be known yet, which is no verdict."""
    looks = abstats.looks(test.variants, test.max_cycles)
    first_look_day = test.first_day + timedelta(days=looks[0] * test.variants + 2)
    lines = [f"📊 24-hour report: A/B test #{test.id} of {test.variants} {test.kind}s, video {test.video_id}",
             f"The test runs {test.max_cycles} cycles of {test.variants} days from {_date(test.first_day)}; each "
             f"cycle shows every {test.kind} for one whole day, in a fresh random order. Until then the video is "
             "new and its first day is not judged.",
             "YouTube's reach reports come 2-3 days after each day, so nothing can be judged yet. "
             f"The earliest decision can come around {_date(first_look_day)}; if no {test.kind} proves better by "
             f"the end, {variant_name(test, test.approved)} stays.",
             ahead(tester, test, now)]
    figures = tester.figures(test)
    seen = sorted(day for day in figures if day >= pacific_day(as_utc(test.published)))
    if seen:
        first = figures[seen[0]]
        rate = first.clicks / first.impressions if first.impressions else 0.0
        lines.append(f"Early signal (burn-in, not judged): {first.impressions:,} impressions, CTR {rate:.2%} on "
                     f"{_date(seen[0])}.")
    return "\n".join(lines)


def _per_day(tester: ABTester, test: ABTest, found: abstats.Analysis | None, up_to: int) -> list[str]:
    """Each variant's click rate on each judged day, and pooled."""
    results = tester.results(test, up_to)
    lines = []
    for variant in range(1, test.variants + 1):
        days = [r for r in results if r.variant == variant]
        rates = " ".join(f"{r.clicks / r.impressions:.1%}" if r.impressions else "–" for r in days)
        pooled = found.ctr.get(variant, 0.0) if found else 0.0
        shown = sum(r.impressions for r in days)
        lines.append(f"• {variant_name(test, variant)}: {rates or 'no judged day yet'}"
                     + (f" — {pooled:.2%} of {shown:,} impressions" if shown else ""))
    return lines


def _leader(test: ABTest, found: abstats.Analysis) -> str:
    low, high = found.interval
    interval = f" (95% interval {low:+.0%} to {high:+.0%})" if low == low else ""  # nan: too few cycles
    return (f"Leader: {variant_name(test, found.leader)}, click odds {found.uplift:+.0%} against the others"
            f"{interval}; p = {found.p_value:.3f} over {found.cycles} cycle(s).")


def cycle(tester: ABTester, test: ABTest, number: int, found: abstats.Analysis | None) -> str:
    """The report after a completed cycle: the numbers so far, and why the test goes on."""
    lines = [f"📊 Cycle {number} of {test.max_cycles}: A/B test #{test.id}, video {test.video_id}",
             *_per_day(tester, test, found, number)]
    looks = abstats.looks(test.variants, test.max_cycles)
    if found is not None:
        lines.append(_leader(test, found))
    later = [c for c in looks if c > number]
    if number in looks:
        lines.append("Not decided: the lead is within what chance gives at this look. The test goes on.")
    elif later:
        lines.append(f"No decision is possible yet: the first look comes after cycle {later[0]}.")
    return "\n".join(lines)


def final(tester: ABTester, test: ABTest) -> str:
    """The final report: per-day click rates, the uplift with its interval, and the decision."""
    found = tester.analysis(test, test.reported_cycles or None)
    lines = [f"📊 Final report: A/B test #{test.id}, video {test.video_id}",
             *_per_day(tester, test, found, test.reported_cycles or test.max_cycles)]
    if found is not None:
        lines.append(_leader(test, found))
    else:
        lines.append("No day could be judged: every switch came after 01:00 Pacific, or no reach report arrived.")
    winner = variant_name(test, test.winner or test.approved)
    if test.decided_by == "statistics":
        lines.append(f"✅ {winner} is better, beyond chance at the 5% level; it is now the video's {test.kind}.")
    elif test.decided_by == "no difference":
        lines.append(f"🤝 No {test.kind} could be told apart from the others; {winner}, the one you approved, stays.")
    else:
        lines.append(f"✅ {winner} is now the video's {test.kind} (chosen by hand).")
    return "\n".join(lines)


def summary(tester: ABTester, test: ABTest, now: datetime) -> str:
    """A test as /abtest lists it: its state, the numbers so far, and for a running test the days ahead."""
    if test.state != "running":
        return final(tester, test) if test.state == "done" else (
            f"A/B test #{test.id}, video {test.video_id}: {test.state}; {variant_name(test, test.approved)} stays.")
    found = tester.analysis(test)
    lines = [f"📊 A/B test #{test.id} of {test.variants} {test.kind}s, video {test.video_id}: cycle "
             f"{min(test.max_cycles, test.reported_cycles + 1)} of {test.max_cycles}",
             *_per_day(tester, test, found, test.max_cycles)]
    if found is not None:
        lines.append(_leader(test, found))
    lines.append(ahead(tester, test, now))
    return "\n".join(lines)
