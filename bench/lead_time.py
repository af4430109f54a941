"""The calendar's lead-time rule, checked by simulation: are videos made before their approval window, on one worker?

Run: python bench/lead_time.py   (writes bench/results/lead-time.json; not calendar.py, which would shadow the standard library)
The planner starts a video twice its preset's making time (the 90th percentile of the measured ones),
plus the approval window, plus an hour, before its publishing time (engine.planner.start_time). Here making times are drawn from a
log-normal distribution around that median (spreads 0.35 and 0.7: steady and very uneven machines),
several channels publish at the same hour every day (the worst case: their jobs are started at the
same moment and wait for each other on one worker), and a month of days is simulated 200 times, with
each video started by its own rule, and back-scheduled on one worker as the planner does.
Reported: the share of videos that reach the chat before their approval window opens (the promise),
how much of the window is lost at worst, and the share that would miss the deadline (never wanted).
The case with nothing to find: one channel and a steady machine, where every video should be on time.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.planner import UPLOAD_MARGIN, back_scheduled, start_time  # noqa: E402
from engine.tables import Channel  # noqa: E402

MEDIAN_MINUTES = 20.0  # a ten-minute video's job on 2 cores (bench/pipeline.py: 0.39x its length, plus exports)
DAYS, RUNS = 30, 200


def simulate(channels: int, spread: float, rng: np.random.Generator, scheduled: bool) -> dict[str, object]:
    """One scenario: the share on time, the worst approval time lost, the share past the deadline.

    `scheduled`: start times from engine.planner.back_scheduled; else each video at its own rule's time.
    """
    owner = Channel(name="c", approval_hours=12.0)
    # The planner's estimate: the 90th percentile of the measured times (make_time), here of the distribution.
    median = timedelta(minutes=MEDIAN_MINUTES * float(np.exp(1.2816 * spread)))
    on_time = late_for_deadline = total = 0
    worst_lost = 0.0
    for _ in range(RUNS):
        for day in range(DAYS):
            slot = datetime(2026, 12, 1, 18, tzinfo=timezone.utc) + timedelta(days=day)
            window_opens = slot - UPLOAD_MARGIN - timedelta(hours=owner.approval_hours)
            rule = start_time(slot, owner, median)
            starts = (back_scheduled({k: (window_opens, median) for k in range(channels)}) if scheduled
                      else {k: rule for k in range(channels)})
            free = min(starts.values())  # one worker: a job starts at its time or when the one before ends
            for k in sorted(starts, key=starts.get):  # type: ignore[arg-type]
                free = max(free, starts[k]) + timedelta(minutes=float(rng.lognormal(np.log(MEDIAN_MINUTES), spread)))
                total += 1
                on_time += free <= window_opens
                late_for_deadline += free > slot - UPLOAD_MARGIN
                worst_lost = max(worst_lost, (free - window_opens).total_seconds() / 3600)
    return {"channels": channels, "spread": spread, "rule": "back-scheduled" if scheduled else "each on its own",
            "on_time": round(on_time / total, 4), "worst_approval_hours_lost": round(max(0.0, worst_lost), 2),
            "missed_deadline": round(late_for_deadline / total, 5)}


def main() -> None:
    """Every scenario; the figures printed and written."""
    rng = np.random.default_rng(7)
    rows = [simulate(channels, spread, rng, scheduled) for scheduled in (False, True) for channels in (1, 3, 5)
            for spread in (0.35, 0.7)]
    for row in rows:
        print(f"{row['rule']:<16} {row['channels']} channel(s) at one hour, spread {row['spread']}: "
              f"{row['on_time']:.1%} before the "
              f"approval window, at worst {row['worst_approval_hours_lost']} h of it lost, "
              f"{row['missed_deadline']:.3%} past the deadline")
    out = ROOT / "bench" / "results" / "lead-time.json"
    out.write_text(json.dumps({"median_minutes": MEDIAN_MINUTES, "days": DAYS, "runs": RUNS, "scenarios": rows},
                              indent=1) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
