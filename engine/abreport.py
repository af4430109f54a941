"""What an A/B test tells its chat: the early report, one per completed cycle, the final one, and the days ahead.

Reach reports come two or three days after their day, so the 24-hour report is about the schedule
and never a verdict; the cycle reports show each variant's click rate per day and the leader's
estimate (without an interval: none that ignores the choice of the leader and the stopping is
honest, issue 35); the final report says what was decided and why.
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
REPORT_LAG_DAYS = 2  # the earliest a day's reach report comes (48-72 hours after the day)


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
    looks = abstats.looks(test.variants, test.max_cycles) or [test.max_cycles]
    # The first look's last day ends, and its report comes two days after that at the earliest.
    first_look_day = test.first_day + timedelta(days=looks[0] * test.variants + REPORT_LAG_DAYS)
    lines = [f"📊 24-hour report: A/B test #{test.id} of {test.variants} {test.kind}s, video {test.video_id}",
             f"The test runs {test.max_cycles} cycles of {test.variants} days from {_date(test.first_day)}; each "
             f"cycle shows every {test.kind} for one whole day, in a fresh random order. Until then the video is "
             "new and its first day is not judged.",
             "YouTube's reach reports come 2-3 days after each day, so nothing can be judged yet. "
             f"No decision can come before the look after cycle {looks[0]}, on {_date(first_look_day)} at the "
             f"earliest (fewer cycles cannot tell a lead from chance); if no {test.kind} proves better by the "
             f"end, {variant_name(test, test.approved)} stays.",
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
    return (f"Leader: {variant_name(test, found.leader)}, click odds {found.uplift:+.0%} against the others "
            f"(an estimate, likely overstated: the largest of {test.variants}); p = {found.p_value:.3f} from "
            f"{found.cycles} cycle(s) alone.")


def _changed(tester: ABTester, test: ABTest) -> list[str]:
    """A line when reach figures changed after a look used them (YouTube backfills days)."""
    days = tester.changed_after_looks(test)
    if not days:
        return []
    return [f"Note: YouTube changed the figures of {len(days)} day(s) after a look had used them "
            f"({', '.join(_date(d) for d in days[:3])}{'…' if len(days) > 3 else ''}). A look stands as it was made; "
            "later looks use the new figures."]


def _look_line(tester: ABTester, test: ABTest, number: int) -> str:
    """What the look after cycle `number` did: none planned yet, decided nothing, or waited for days."""
    looks = abstats.looks(test.variants, test.max_cycles)
    if not looks:  # a test started before looks were counted up to renaming, too short for any
        return "This test is too short for any look that could decide; the approved variant stays at its end."
    if number < looks[0]:
        return f"No decision is possible yet: the first look comes after cycle {looks[0]}."
    made = tester.looks_made(test)
    if made and made[-1].cycle == number:
        return (f"Not decided: the lead is within what chance gives at this look (p = {made[-1].p_value:.3f}). "
                "The test goes on.")
    judged = len(tester.results(test, number))
    return (f"The look after this cycle waits for the next: {judged} of the {number * test.variants} days so far "
            f"could be judged, and a look needs {abstats.MIN_DAY_SHARE:.0%} of them and a day of this cycle; "
            "its share of the 5% passes on with it.")


def cycle(tester: ABTester, test: ABTest, number: int, found: abstats.Analysis | None) -> str:
    """The report after a completed cycle: the numbers so far, and why the test goes on."""
    lines = [f"📊 Cycle {number} of {test.max_cycles}: A/B test #{test.id}, video {test.video_id}",
             *_per_day(tester, test, found, number)]
    if found is not None:
        lines.append(_leader(test, found))
    lines.append(_look_line(tester, test, number))
    return "\n".join(lines + _changed(tester, test))


def final(tester: ABTester, test: ABTest) -> str:
    """The final report: per-day click rates, the leader's estimate, and the decision."""
    found = tester.analysis(test, test.reported_cycles or None)
    lines = [f"📊 Final report: A/B test #{test.id}, video {test.video_id}",
             *_per_day(tester, test, found, test.reported_cycles or test.max_cycles)]
    if found is not None:
        lines.append(_leader(test, found))
    else:
        lines.append("No day could be judged: every switch came after 01:00 Pacific, or no reach report arrived.")
    winner = variant_name(test, test.winner or test.approved)
    if test.decided_by == "statistics":
        lines.append(f"✅ {winner} is better, beyond chance at the 5% level; it is now the video's {test.kind}. "
                     "How much better is less sure: a test stops when the lead looks large, so the estimate above "
                     "is likely more than the real difference.")
    elif test.decided_by == "no difference":
        lines.append(f"🤝 No {test.kind} could be told apart from the others; {winner}, the one you approved, stays.")
    else:
        lines.append(f"✅ {winner} is now the video's {test.kind} (chosen by hand).")
    return "\n".join(lines + _changed(tester, test))


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
