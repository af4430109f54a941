"""Thumbnail impressions and clicks per video and Pacific day, from the YouTube Reporting API's reach reports.

YouTube Analytics documents `videoThumbnailImpressions` but answers every query of it with 400
"The query is not supported"; the daily bulk report `channel_reach_basic_a1` is where the figures
are, in five columns: date, channel_id, video_id, video_thumbnail_impressions and
video_thumbnail_impressions_ctr (a 0-1 fraction). A report covers one day, arrives 48-72 hours after
it, and may hold several rows for one video and day, so a video's day is the sum of its rows (each
row's clicks being its impressions times its rate). "Backfill data replaces previously
delivered data" (Reporting API, Reports): when a later-made report covers a day again, its figures
replace the earlier ones rather than adding to them. Every report is downloaded once; the ones
read are remembered in the database.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlmodel import Session, select

from engine.abtest import ABTester, Notice
from engine.config import Settings
from engine.store import Store, as_utc
from engine.tables import ReachDay, ReachReport
from engine.youtube import ReportFile, YouTube

log = logging.getLogger(__name__)

SYNC_EVERY = timedelta(hours=1)  # reports come once a day; listing them more often finds nothing new
LISTING_MARGIN = timedelta(days=3)


@dataclass(frozen=True)
class DayFigures:
    """A video's thumbnail impressions and clicks on one day."""

    impressions: int
    clicks: float


def parse_report(text: str, videos: set[str]) -> dict[tuple[str, date], DayFigures]:
    """The figures of `videos` in one report's CSV, summed over its rows per video and day.

    A row that does not read (a date or a number in another shape) is left out with one warning for the
    report: one odd row must not stop every tick from reading every later report.
    """
    shown: dict[tuple[str, date], float] = {}
    clicks: dict[tuple[str, date], float] = {}
    unread: list[str] = []
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("video_id") not in videos:
            continue
        try:
            key = (str(row["video_id"]), datetime.strptime(str(row.get("date")), "%Y%m%d").date())
            impressions = float(row.get("video_thumbnail_impressions") or 0)
            rate = float(row.get("video_thumbnail_impressions_ctr") or 0)
        except ValueError:
            unread.append(str(row.get("date")))
            continue
        shown[key] = shown.get(key, 0.0) + impressions
        clicks[key] = clicks.get(key, 0.0) + impressions * rate
    if unread:
        log.warning("a reach report has %d row(s) that do not read (date %r…): left out", len(unread), unread[0][:20])
    return {key: DayFigures(round(shown[key]), clicks[key]) for key in shown}


class ReachReports:
    """The channel's reach reports, read once each into the database, for the videos under test."""

    def __init__(self, youtube: YouTube, store: Store) -> None:
        self.youtube = youtube
        self.store = store
        self.synced: datetime | None = None

    def sync(self, videos: set[str], now: datetime) -> int:
        """Read the reports not read yet (at most once an hour); how many were new."""
        if not videos or (self.synced is not None and now - self.synced < SYNC_EVERY):
            return 0
        job = self.youtube.reach_job()
        with Session(self.store.engine) as session:
            rows = list(session.exec(select(ReachReport)))
        known = {report.id for report in rows}
        # Reports may appear a little out of the order they were made in: list from a margin before the newest
        # read, of this channel's own job: another channel's newer reports must not hide this one's (paused) days.
        own = [as_utc(report.created) for report in rows if report.job == job]
        since = max(own) - LISTING_MARGIN if own else None
        listed = self.youtube.reach_reports(job, since)
        fresh = sorted((r for r in listed if r.id not in known), key=lambda r: r.created)
        for report in fresh:
            self._keep(report, job, parse_report(self.youtube.download_report(report), videos))
        self.synced = now
        if fresh:
            log.info("read %d new reach report(s)", len(fresh))
        return len(fresh)

    def _keep(self, report: ReportFile, job: str, figures: dict[tuple[str, date], DayFigures]) -> None:
        """Store one report's figures where it is the latest made for its day, and remember it was read."""
        with Session(self.store.engine) as session:
            for (video_id, day), numbers in figures.items():
                row = session.exec(select(ReachDay).where(ReachDay.video_id == video_id, ReachDay.day == day)).first()
                if row is not None and as_utc(row.report_created) > report.created:
                    continue  # a later report of this day was read first
                row = row or ReachDay(video_id=video_id, day=day, impressions=0, clicks=0.0,
                                      report_created=report.created)
                row.impressions, row.clicks, row.report_created = numbers.impressions, numbers.clicks, report.created
                session.add(row)
            session.add(ReachReport(id=report.id, created=report.created, job=job))
            session.commit()

    def days(self, video_id: str, first: date, last: date) -> dict[date, DayFigures]:
        """The video's figures per day from `first` to `last`, where a report has come."""
        with Session(self.store.engine) as session:
            rows: Iterable[ReachDay] = session.exec(select(ReachDay).where(
                ReachDay.video_id == video_id, ReachDay.day >= first, ReachDay.day <= last))
            return {row.day: DayFigures(row.impressions, row.clicks) for row in rows}


def youtube_tester(settings: Settings, store: Store, connect: Callable[[], YouTube] | None = None,
                   channel: str | None = None) -> ABTester:
    """The A/B tester of one channel (None: the one authorisation): connected when first needed, reach reports
    kept in `store`; it waits while the channel's authorisation is refused."""
    from engine.channels import ChannelBook

    connection = cache(connect or (lambda: YouTube.connect(settings, channel=channel)))
    reports = cache(lambda: ReachReports(connection(), store))
    return ABTester(store, connection, reports, settings.abtest_max_days, paused=ChannelBook(store).paused,
                    scope=channel)


@dataclass
class Testers:
    """The A/B testers: the one authorisation's, and each named channel's (made when first needed)."""

    default: ABTester
    of_channel: Callable[[str], ABTester]

    def of(self, channel: str | None) -> ABTester:
        """The tester of a test's channel (None: the one authorisation)."""
        return self.default if channel is None else self.of_channel(channel)

    def tick(self, channels: list[str], now: datetime) -> list[Notice]:
        """Every tester's due work: the one authorisation's tests, then each channel's (a refused one waits)."""
        notices = self.default.tick(now)
        for name in channels:
            notices += self.of_channel(name).tick(now)
        return notices


def channel_testers(settings: Settings, store: Store, connect: Callable[[str], YouTube]) -> Callable[[str], ABTester]:
    """Each named channel's tester, made once and kept: its YouTube connection and reach reports are its own."""
    made: dict[str, ABTester] = {}

    def tester(name: str) -> ABTester:
        if name not in made:
            made[name] = youtube_tester(settings, store, lambda: connect(name), name)
        return made[name]

    return tester
