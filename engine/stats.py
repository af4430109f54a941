"""How the factory is doing, from its database: videos, time per stage, pictures, tokens, A/B tests, failures."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlmodel import Session, select

from engine.abreport import variant_name
from engine.abtest import ABTester
from engine.store import Store, as_utc
from engine.hf_accounts import AccountBook
from engine.tables import ABTest, Channel, Job, PlannedVideo, StageRun, TokenLedger
from engine.tokens import account_of


@dataclass(frozen=True)
class Timing:
    """Mean and 90th percentile of some durations, in seconds, and how many there were."""

    mean: float
    p90: float
    count: int


@dataclass(frozen=True)
class TokenUse:
    """One Hugging Face token this month (by fingerprint, never the token)."""

    fingerprint: str
    state: str
    calls: int
    spend_usd: float
    budget_left_usd: float  # its account's, shared with the account's other tokens
    count_402: int
    count_429: int
    images_ok: int
    images_failed: int


@dataclass(frozen=True)
class TestOutcome:
    """A finished A/B test: what stayed, and how much better the leader did than the others."""

    test_id: int
    video_id: str
    winner: str  # "thumbnail 2", or a title
    decided_by: str  # statistics, no difference, hand
    uplift: float | None  # the leader's click odds over the others', relative; None when unmeasured


@dataclass(frozen=True)
class CalendarFigures:
    """The channels' calendars: made in the period, coming in the next days, waiting for the owner."""

    made: int  # planned videos made (sent for approval or further) in the period
    coming: tuple[tuple[datetime, str, str, str], ...]  # (time, channel, topic, state) in the next COMING_DAYS
    waiting: tuple[tuple[int, str, str], ...]  # (number, channel, topic) made and not yet approved, or held
    paused: tuple[str, ...]  # channels whose authorisation was refused


COMING_DAYS = 3


@dataclass(frozen=True)
class Stats:
    """Everything /stats and `videofactory stats` show, for the last `days` days."""

    days: int
    since: datetime
    videos_per_day: dict[date, int]
    videos_per_preset: dict[str, int]
    stage_time: dict[str, Timing]
    total_time: Timing | None
    images_per_backend: dict[str, tuple[int, int]]  # backend -> (made, asked for)
    tokens: tuple[TokenUse, ...]
    tests: tuple[TestOutcome, ...]
    failures: dict[str, tuple[int, tuple[tuple[str, int], ...]]]  # stage -> (count, most frequent errors)
    calendar: CalendarFigures | None = None  # None: no channel has a calendar

    @property
    def quiet(self) -> bool:
        """Nothing happened in the period: nothing to draw."""
        return not self.videos_per_day and not self.failures and not any(t.calls for t in self.tokens)

    @property
    def empty(self) -> bool:
        """Nothing happened in the period, and no channel has a calendar."""
        return self.quiet and self.calendar is None



def _timing(seconds: list[float]) -> Timing | None:
    if not seconds:
        return None
    return Timing(round(float(np.mean(seconds)), 2), round(float(np.percentile(seconds, 90)), 2), len(seconds))


def _token_uses(store: Store, ledger: list[TokenLedger], budget_usd: float, now: datetime) -> tuple[TokenUse, ...]:
    """Each token's month; what is left is its account's, shared with the account's other tokens."""
    book = AccountBook(store, budget_usd)
    spent: Counter[str] = Counter()
    for row in ledger:
        spent[account_of(row)] += row.spend_usd
    left = {account: max(0.0, book.balance(account, total, now).left_usd) for account, total in spent.items()}
    return tuple(TokenUse(row.fingerprint, row.state, row.calls, round(row.spend_usd, 4), round(left[account_of(row)], 4),
                          row.count_402, row.count_429, row.images_ok, row.images_failed) for row in ledger)


def calendar_figures(store: Store, since: datetime, now: datetime) -> CalendarFigures | None:
    """What the channels' calendars made since `since`, have coming, and wait for; None when there are no channels."""
    with Session(store.engine) as session:
        channels = list(session.exec(select(Channel)))
        rows = list(session.exec(select(PlannedVideo)))
    if not channels:
        return None
    made_states = ("review", "approved", "scheduled", "published", "held")
    made = sum(1 for r in rows if r.state in made_states and as_utc(r.changed) >= since)
    soon = now + timedelta(days=COMING_DAYS)
    coming = sorted((as_utc(r.slot), r.channel, r.topic, r.state) for r in rows if r.slot is not None
                    and now <= as_utc(r.slot) < soon and r.state not in ("removed", "failed", "held"))
    waiting = tuple((int(r.id), r.channel, r.topic) for r in rows if r.state in ("review", "held"))  # type: ignore[arg-type]
    return CalendarFigures(made, tuple(coming), waiting, tuple(c.name for c in channels if c.auth_state == "revoked"))


def gather(store: Store, days: int, now: datetime, budget_usd: float, chat_id: int | None = None) -> Stats:
    """The figures of the last `days` days (tokens: this month's ledger); with `chat_id`, that chat's alone
    (its jobs and A/B tests; the factory's tokens and calendars are left out)."""
    since = now - timedelta(days=days)
    with Session(store.engine) as session:
        jobs = [j for j in session.exec(select(Job)) if as_utc(j.created) >= since
                and (chat_id is None or j.chat_id == chat_id)]
        job_ids = {j.id for j in jobs}
        runs = [r for r in session.exec(select(StageRun)) if r.job_id in job_ids]
        ledger = list(session.exec(select(TokenLedger).order_by(TokenLedger.fingerprint))) if chat_id is None else []
        tests = [t for t in session.exec(select(ABTest).where(ABTest.state == "done"))
                 if t.finished is not None and as_utc(t.finished) >= since and (chat_id is None or t.chat_id == chat_id)]
    done = [j for j in jobs if j.state == "done"]
    per_day = Counter(as_utc(j.finished or j.created).date() for j in done)
    per_preset = Counter(j.preset for j in done)
    stage_seconds: dict[str, list[float]] = defaultdict(list)
    images: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures: dict[str, Counter] = defaultdict(Counter)
    for run in runs:
        if run.outcome == "done" and run.finished is not None:
            stage_seconds[run.stage].append((as_utc(run.finished) - as_utc(run.started)).total_seconds())
        if run.outcome == "failed":
            failures[run.stage][(run.error or "unknown")[:100]] += 1
        if run.stage == "images":
            images[run.backend][0] += run.items_cached + run.items_computed
            images[run.backend][1] += run.items_total
    totals = [(as_utc(j.finished) - as_utc(j.created)).total_seconds() for j in done if j.finished is not None]
    tester = ABTester(store, lambda: None, lambda: None)  # type: ignore[arg-type,return-value] - the store only
    outcomes = []
    for test in tests:
        found = tester.analysis(test, test.reported_cycles or None)
        outcomes.append(TestOutcome(test.id, test.video_id, variant_name(test, test.winner or test.approved),  # type: ignore[arg-type]
                                    test.decided_by or "", round(found.uplift, 4) if found else None))
    return Stats(
        days=days, since=since,
        videos_per_day=dict(sorted(per_day.items())),
        videos_per_preset=dict(per_preset.most_common()),
        stage_time={stage: _timing(values) for stage, values in stage_seconds.items()},  # type: ignore[misc]
        total_time=_timing(totals),
        images_per_backend={backend: (made, asked) for backend, (made, asked) in images.items()},
        tokens=_token_uses(store, ledger, budget_usd, now),
        tests=tuple(outcomes),
        failures={stage: (sum(errors.values()), tuple(errors.most_common(3))) for stage, errors in failures.items()},
        calendar=calendar_figures(store, since, now) if chat_id is None else None,
    )


def stats_text(stats: Stats, errors: bool = True) -> str:
    """The figures as short plain text: for the terminal and the chat (`errors`: the failures' own words too)."""
    if stats.empty:
        return f"Nothing yet in the last {stats.days} days: no videos made, no tokens used. Make one and ask again."
    if stats.quiet:
        return "\n".join([f"No videos made in the last {stats.days} days.", *calendar_lines(stats.calendar)])
    made = sum(stats.videos_per_day.values())
    period = "Last day" if stats.days == 1 else f"Last {stats.days} days"
    lines = [f"{period}: {made} video(s) made"
             + (", " + ", ".join(f"{name} {count}" for name, count in stats.videos_per_preset.items()) if made else "")]
    if stats.total_time:
        lines.append(f"Time per video: mean {stats.total_time.mean:.0f} s, 90% within {stats.total_time.p90:.0f} s")
    if stats.stage_time:
        lines.append("Per stage (mean / p90 s): " + ", ".join(
            f"{stage} {t.mean:.1f}/{t.p90:.1f}" for stage, t in sorted(stats.stage_time.items(), key=lambda i: -i[1].mean)))
    for backend, (done, asked) in stats.images_per_backend.items():
        lines.append(f"Pictures by {backend}: {done}/{asked} made ({done / asked:.0%})" if asked else f"Pictures by {backend}: none asked")
    for token in stats.tokens:
        pictures = token.images_ok + token.images_failed
        rate = f", pictures {token.images_ok}/{pictures} ({token.images_ok / pictures:.0%})" if pictures else ""
        lines.append(f"Token {token.fingerprint} ({token.state}): {token.calls} calls, ${token.spend_usd:.3f} spent, "
                     f"${token.budget_left_usd:.3f} left in its account, 402×{token.count_402}, 429×{token.count_429}{rate}")
    for test in stats.tests:
        uplift = f"leader {test.uplift:+.0%} click odds" if test.uplift is not None else "unmeasured"
        lines.append(f"A/B test #{test.test_id} ({test.video_id}): {test.winner} stays ({test.decided_by}; {uplift})")
    for stage, (count, common) in stats.failures.items():
        said = "; most often: " + "; ".join(f"{text} ×{n}" for text, n in common) if errors else ""
        lines.append(f"Failures in {stage}: {count}{said}")
    return "\n".join(lines + calendar_lines(stats.calendar))


def calendar_lines(calendar: CalendarFigures | None) -> list[str]:
    """The calendars' part of the statistics: made, coming, waiting for approval, paused channels."""
    if calendar is None:
        return []
    lines = [f"Calendar: {calendar.made} planned video(s) made in the period"]
    lines += [f"  coming {at:%a %-d %b %H:%M} UTC, {channel}: «{topic}» ({state})" for at, channel, topic, state
              in calendar.coming]
    lines += [f"  waiting for your approval: #{number} {channel} «{topic}»" for number, channel, topic in calendar.waiting]
    lines += [f"  ⚠️ {name}: its YouTube authorisation was refused; its publishes wait" for name in calendar.paused]
    return lines


CHART_SIZE = (1200, 900)  # pixels


def stats_chart(stats: Stats, out: Path) -> Path:
    """A PNG of three panels: videos per day, mean time per stage, calls per token."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    dpi = 100
    figure, (per_day, per_stage, per_token) = plt.subplots(3, 1, figsize=(CHART_SIZE[0] / dpi, CHART_SIZE[1] / dpi), dpi=dpi)
    days = [stats.since.date() + timedelta(days=k + 1) for k in range(stats.days)]
    per_day.bar([d.strftime("%d %b") for d in days], [stats.videos_per_day.get(d, 0) for d in days], color="#2E86AB")
    per_day.set_title("Videos per day")
    per_day.tick_params(axis="x", labelsize=7, rotation=45)
    stages = sorted(stats.stage_time.items(), key=lambda item: -item[1].mean)
    per_stage.barh([s for s, _ in stages], [t.mean for _, t in stages], color="#F18F01")
    per_stage.set_title("Mean seconds per stage")
    per_stage.invert_yaxis()
    tokens = list(stats.tokens)
    per_token.bar([t.fingerprint for t in tokens], [t.calls for t in tokens], color="#3B1F2B", label="calls")
    per_token.bar([t.fingerprint for t in tokens], [t.count_402 + t.count_429 for t in tokens], color="#C73E1D",
                  label="402/429")
    per_token.set_title("Hugging Face calls per token this month")
    if tokens:
        per_token.legend()
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", dpi=dpi)
    plt.close(figure)
    return out
