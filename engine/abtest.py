"""The A/B test on a published video: thumbnails (or titles) take whole days in turn, and a sound test picks.

YouTube's own Test & Compare has no API, so the test runs here. At its start the whole schedule is
planned and stored (engine.abstats: balanced random cycles after a burn-in), so a restarted process
goes on exactly as planned. `ABTester.tick(now)` does whatever is due: put up the day's variant
(a switch after 01:00 Pacific leaves that day out of the analysis), read new reach reports, send
the 24-hour report and a report per completed cycle, and at a planned look either decide or go on.
When the last cycle ends without a decision, the variant the owner approved stays.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlmodel import Session, select

from engine import abpower, abreport, abstats
from engine.abreport import variant_name
from engine.abstats import PACIFIC, day_start, first_judged_day, pacific_day
from engine.errors import InputError, VideoFactoryError
from engine.store import Store, as_utc
from engine.tables import ABDay, ABLook, ABTest, ReachDay
from engine.youtube import VideoStatus, unseen_reason

log = logging.getLogger(__name__)

LATE_SWITCH = time(1, 0)  # a day whose variant went up after this (Pacific) mixed two variants
REPORT_WAIT_DAYS = 5  # reach data comes 2-3 days late; after this long a day without it is taken as lost
DEFAULT_MAX_DAYS = 21


class Channel(Protocol):
    """What a test does on YouTube: read whether the video is seen, put up a thumbnail or a title."""

    def video_status(self, video_id: str) -> VideoStatus:
        """The video's privacy now (it may have been locked private after its upload)."""
        ...

    def set_thumbnail(self, video_id: str, image: Path) -> None:
        """Make `image` the video's thumbnail."""
        ...

    def set_title(self, video_id: str, title: str) -> None:
        """Give the video `title`."""
        ...


class Reach(Protocol):
    """Where the daily impressions and clicks come from: it files them as `ReachDay` rows in the store."""

    def sync(self, videos: set[str], now: datetime) -> int:
        """Read what has arrived for `videos`; how many reports were new."""
        ...


@dataclass(frozen=True)
class Notice:
    """A message for a chat (None: the log only)."""

    chat_id: int | None
    text: str


def _as_look(row: ABLook) -> abstats.Look:
    return abstats.Look(**{field.name: getattr(row, field.name) for field in fields(abstats.Look)})


class ABTester:
    """Starts tests and does what is due; `channel()` and `reach()` give the YouTube side when first needed."""

    def __init__(self, store: Store, channel: Callable[[], Channel], reach: Callable[[], Reach],
                 max_days: int = DEFAULT_MAX_DAYS, seed: int | None = None,
                 paused: Callable[[], set[str]] = set, scope: str | None = None) -> None:
        self.store = store
        self.paused = paused  # channels whose authorisation was refused: their tests wait
        self.scope = scope  # the named channel whose tests this tester starts and moves on; None: the one authorisation
        self.channel = channel
        self.reach = reach
        self.max_days = max_days
        self.rng = np.random.default_rng(seed)
        self.warned: set[tuple[int | None, str]] = set()  # troubles already told, so a chat hears each once

    # --- records -------------------------------------------------------------------------------

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

    def schedule(self, test_id: int) -> list[ABDay]:
        """A test's planned days in order."""
        with Session(self.store.engine) as session:
            return list(session.exec(select(ABDay).where(ABDay.test_id == test_id).order_by(ABDay.day)))  # type: ignore[arg-type]

    def figures(self, test: ABTest) -> dict[date, ReachDay]:
        """The video's reach figures per day, as far as they have come."""
        with Session(self.store.engine) as session:
            rows = session.exec(select(ReachDay).where(ReachDay.video_id == test.video_id))
            return {row.day: row for row in rows}

    # --- starting ------------------------------------------------------------------------------

    def power(self) -> abpower.PowerEstimate:
        """What a thumbnail test on this tester's channel can expect, from its tested videos' reach figures."""
        return self.power_on(self.scope)

    def power_on(self, channel: str | None) -> abpower.PowerEstimate:
        """What a thumbnail test on `channel` (None: the one authorisation) can expect."""
        videos = {test.video_id for test in self.tests() if test.channel == channel}
        return abpower.estimate(self.store, videos, self.max_days)

    def start_thumbnails(self, video_id: str, folder: Path, chat_id: int | None, now: datetime, published: datetime,
                         approved: int = 1) -> ABTest:
        """A test of the video's three thumbnails; the approved one stays up through the burn-in."""
        images = [folder / "thumbnails" / f"{k}.jpg" for k in (1, 2, 3)]
        missing = [p.name for p in images if not p.is_file()]
        if missing:
            raise InputError(f"{folder} lacks thumbnails {', '.join(missing)}; an A/B test needs all three")
        return self._start(ABTest(video_id=video_id, folder=str(folder), chat_id=chat_id, kind="thumbnail",
                                  variants=3, approved=approved, published=published, started=now,
                                  first_day=date.min, channel=self.scope), now)

    def start_titles(self, video_id: str, titles: list[str], chat_id: int | None, now: datetime,
                     published: datetime) -> ABTest:
        """A test of two or more titles; the first is the video's own and stays if none proves better."""
        titles = [" ".join(t.split()) for t in titles]
        if len(titles) < 2 or len(set(titles)) < len(titles) or not all(titles):
            raise InputError("a title test needs two or more different titles")
        if any(len(t) > 100 or "<" in t or ">" in t for t in titles):
            raise InputError("YouTube titles are at most 100 characters, without < or >")
        return self._start(ABTest(video_id=video_id, folder="", chat_id=chat_id, kind="title", variants=len(titles),
                                  titles_json=json.dumps(titles), approved=1, published=published, started=now,
                                  first_day=date.min, channel=self.scope), now)

    def _start(self, test: ABTest, now: datetime) -> ABTest:
        """Plan the schedule and keep both; a video nobody sees is refused, by its status read from YouTube now
        (the lock to private of an unaudited project can come after the upload's answer)."""
        status = self.channel().video_status(test.video_id)
        if not status.seen:
            raise InputError(f"no A/B test: {unseen_reason(status)}; nobody sees its thumbnail or title until then")
        test.first_day = first_judged_day(test.published, now)
        burn_in = (test.first_day - pacific_day(now)).days
        test.max_cycles = (self.max_days - burn_in) // test.variants
        if not abstats.looks(test.variants, test.max_cycles):
            raise InputError(f"{test.variants} variants need more than {self.max_days} days to be told apart; "
                             "test fewer, or allow more days (VF_ABTEST_MAX_DAYS)")
        test.seed = int(self.rng.integers(2**31))
        test = self.store.add(test)
        plan = abstats.plan_schedule(test.first_day, test.variants, test.max_cycles, np.random.default_rng(test.seed))
        after = test.first_day + timedelta(days=len(plan))  # back to the approved variant once the cycles are done
        with Session(self.store.engine) as session:
            for day in plan:
                session.add(ABDay(test_id=test.id, day=day.day, cycle=day.cycle, variant=day.variant))  # type: ignore[arg-type]
            session.add(ABDay(test_id=test.id, day=after, cycle=0, variant=test.approved))  # type: ignore[arg-type]
            session.commit()
        return test

    # --- moving on -----------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Notice]:
        """Do everything due at `now` for every running test; the messages to send."""
        if self.scope is not None and self.scope in self.paused():
            return []  # its channel's authorisation was refused: its tests wait, nothing is switched or judged
        running = [test for test in self.tests(running_only=True) if test.channel == self.scope]
        if not running:
            return []
        notices = self._sync_reach({t.video_id for t in running}, now, running)
        for test in running:
            try:
                notices += self._tick_one(test, now)
            except VideoFactoryError as error:  # one test's trouble must not stop the others
                log.warning("A/B test %s: %s", test.id, error)
                notices += self._warn_once(test, str(error))
        return notices

    def _warn_once(self, test: ABTest, text: str) -> list[Notice]:
        """A trouble told to the test's chat the first time only (the tick comes back every few minutes)."""
        if (test.id, text) in self.warned:
            return []
        self.warned.add((test.id, text))
        return [Notice(test.chat_id, f"⚠️ A/B test #{test.id}: {text}. I will keep trying.")]

    def _sync_reach(self, videos: set[str], now: datetime, running: list[ABTest]) -> list[Notice]:
        try:
            self.reach().sync(videos, now)
        except VideoFactoryError as error:
            log.warning("reach reports: %s", error)
            return [notice for test in running for notice in self._warn_once(test, f"reach reports: {error}")]
        return []

    def _tick_one(self, test: ABTest, now: datetime) -> list[Notice]:
        self._switch(test, now)
        notices: list[Notice] = []
        if not test.early_report_sent and now >= as_utc(test.started) + timedelta(hours=24):
            test.early_report_sent = True
            self.store.add(test)
            notices.append(Notice(test.chat_id, abreport.early(self, test, now)))
        while test.state == "running" and test.reported_cycles < test.max_cycles:
            cycle = test.reported_cycles + 1
            if not self._settled(test, cycle, now):
                break
            notices.append(self._look(test, cycle, now))
        return notices

    def _switch(self, test: ABTest, now: datetime) -> None:
        """Put up today's planned variant, once; a refusal is tried again at the next tick."""
        today = pacific_day(now)
        with Session(self.store.engine) as session:
            planned = session.exec(select(ABDay).where(ABDay.test_id == test.id, ABDay.day == today)).first()
        if planned is None or planned.switched is not None:
            return
        self._show(test, planned.variant)
        planned.switched = now
        planned.late = as_utc(now).astimezone(PACIFIC).time() > LATE_SWITCH
        self.store.add(planned)

    def _show(self, test: ABTest, variant: int) -> None:
        if test.kind == "title":
            self.channel().set_title(test.video_id, json.loads(test.titles_json)[variant - 1])
        else:
            self.channel().set_thumbnail(test.video_id, Path(test.folder) / "thumbnails" / f"{variant}.jpg")

    def _settled(self, test: ABTest, cycle: int, now: datetime) -> bool:
        """Whether every day of `cycle` is over and has its figures, or has waited for them long enough."""
        days = [d for d in self.schedule(test.id) if d.cycle == cycle]  # type: ignore[arg-type]
        figures = self.figures(test)
        today = pacific_day(now)
        return bool(days) and all(d.day < today and (d.day in figures or (today - d.day).days > REPORT_WAIT_DAYS)
                                  for d in days)

    def results(self, test: ABTest, up_to_cycle: int | None = None) -> list[abstats.DayResult]:
        """The judged days: switched in time, with figures, in the cycles so far."""
        figures = self.figures(test)
        published = as_utc(test.published)
        out = []
        for day in self.schedule(test.id):  # type: ignore[arg-type]
            if day.cycle < 1 or (up_to_cycle is not None and day.cycle > up_to_cycle):
                continue
            if day.switched is None or day.late or day.day not in figures:
                continue
            age = (day_start(day.day) + timedelta(hours=12) - published).total_seconds() / 86400
            out.append(abstats.DayResult(day.day, day.cycle, day.variant, age, figures[day.day].impressions,
                                         figures[day.day].clicks))
        return out

    def design(self, test: ABTest) -> abstats.Design:
        """The test's planned days and seed: what every look of it shares."""
        planned = tuple(abstats.PlannedDay(d.day, d.cycle, d.variant) for d in self.schedule(test.id)  # type: ignore[arg-type]
                        if d.cycle >= 1)
        return abstats.Design(test.variants, test.max_cycles, planned, test.seed)

    def analysis(self, test: ABTest, up_to_cycle: int | None = None) -> abstats.Analysis | None:
        """What the judged days say so far (None before any)."""
        results = self.results(test, up_to_cycle)
        if not results:
            return None
        return abstats.analyse(results, self.design(test))

    def looks_made(self, test: ABTest) -> list[ABLook]:
        """The test's looks as they were made, in order."""
        with Session(self.store.engine) as session:
            return list(session.exec(select(ABLook).where(ABLook.test_id == test.id).order_by(ABLook.cycle)))  # type: ignore[arg-type]

    def changed_after_looks(self, test: ABTest) -> list[date]:
        """Days whose reach figures changed (a backfill) after a look had used them."""
        figures = self.figures(test)
        changed: set[date] = set()
        for look in self.looks_made(test):
            for text, (impressions, clicks) in json.loads(look.figures_json).items():
                day = date.fromisoformat(text)
                now = figures.get(day)
                if now is None or now.impressions != impressions or abs(now.clicks - clicks) > 1e-6:
                    changed.add(day)
        return sorted(changed)

    def _look(self, test: ABTest, cycle: int, now: datetime) -> Notice:
        """A completed cycle: at a planned look with its days, decide or go on; after the last, keep the approved."""
        look = self._make_look(test, cycle)
        test.reported_cycles = cycle
        self.store.add(test)
        if look is not None and look.decided:
            return self.finish(test, look.leader, now, "statistics")
        if cycle == test.max_cycles:
            return self.finish(test, test.approved, now, "no difference")
        return Notice(test.chat_id, abreport.cycle(self, test, cycle, self.analysis(test, cycle)))

    def _make_look(self, test: ABTest, cycle: int) -> ABLook | None:
        """The look after `cycle`, made once and kept; None before the first planned look, or while too few of
        the planned days could be judged (the look waits for the next cycle, its share of the 5 % with it)."""
        planned = abstats.looks(test.variants, test.max_cycles)
        made = self.looks_made(test)
        if made and made[-1].cycle == cycle:
            return made[-1]  # made before a restart: never made again
        design, results = self.design(test), self.results(test, cycle)
        if not planned or cycle < planned[0] or not abstats.enough_days(design, cycle, results):
            return None
        look = abstats.make_look(design, cycle, results, _as_look(made[-1]) if made else None)
        figures = {r.day.isoformat(): [r.impressions, r.clicks] for r in results}
        return self.store.add(ABLook(test_id=test.id, figures_json=json.dumps(figures),  # type: ignore[arg-type]
                                     **asdict(look)))

    # --- ending --------------------------------------------------------------------------------

    def finish(self, test: ABTest, winner: int, now: datetime, decided_by: str) -> Notice:
        """End a test: the winner (or the approved variant) goes up for good, and the final report."""
        if not 1 <= winner <= test.variants:
            raise InputError(f"variant {winner} does not exist; choose 1 to {test.variants}")
        self._show(test, winner)
        test.state, test.winner, test.decided_by, test.finished = "done", winner, decided_by, now
        self.store.add(test)
        return Notice(test.chat_id, abreport.final(self, test))

    def stop(self, test: ABTest, now: datetime) -> Notice:
        """Stop a test without a winner: the approved variant goes back up."""
        self._show(test, test.approved)
        test.state, test.finished = "stopped", now
        self.store.add(test)
        return Notice(test.chat_id, f"A/B test #{test.id} stopped; {variant_name(test, test.approved)} stays.")
