"""The content calendar: each channel's videos made ahead of their days, approved in chat, scheduled on YouTube.

Every few minutes (and at once after a restart) `Planner.tick(now)` moves each planned video on:
a backlog topic gets the channel's next free publishing time; early enough before it (twice the
measured time to make a video of its preset, plus the channel's approval window, plus an hour for
the upload; earlier still when other channels' videos are wanted at the same time, as one worker
makes them one after another) its job is started; made, it is sent to the owner's chat for approval; approved, it is
uploaded private with `publishAt` at its time, to its channel. Unapproved at its deadline (an hour
before its time) it is held, or published anyway where the channel says `auto`. A channel whose
authorisation was refused uploads nothing until `youtube auth --channel` again. Everything is in the
database, so a tick after a restart does what fell due meanwhile. The clock is a parameter: tests set it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

import numpy as np
from sqlmodel import Session, col, select

from engine.abpower import told
from engine.abtest import ABTester
from engine.channels import AuthState, ChannelBook, calendar_of, token_ends, WARN_BEFORE
from engine.config import Settings
from engine.errors import InputError, VideoFactoryError
from engine.jobs import JobState, Origin
from engine.models import JobRequest
from engine.plans import PlanBook, PlanLine, PlanState, topic_ideas
from engine.publish import Published, finish_upload, publish, video_meta
from engine.records import read_manifest
from engine.store import Store, as_utc
from engine.tables import Channel, Job, PlannedVideo
from engine.thumbnail_choice import approved_design
from engine.youtube import (AuthError, QuotaError, YouTube, YouTubeError, quota_reset, unseen_reason,
                            verify_credentials)

log = logging.getLogger(__name__)

UPLOAD_MARGIN = timedelta(hours=1)  # an approved video goes up at least this long before its time: its deadline
HORIZON = timedelta(days=14)  # topics get days this far ahead (what /plan shows as coming)
DEFAULT_MAKE = timedelta(minutes=30)  # a preset's time to make a video before any was measured
LATE = timedelta(minutes=15)  # a video approved after its time goes public this long after the upload
ACTIVE = (PlanState.BACKLOG, PlanState.MAKING, PlanState.REVIEW, PlanState.APPROVED, PlanState.UPLOADED,
          PlanState.SCHEDULED)
PUBLIC_GRACE = timedelta(hours=2)  # YouTube makes a scheduled video public at its time, give or take minutes


@dataclass(frozen=True)
class PlanNotice:
    """A message for a channel's chat; `approve` adds the Approve and Hold buttons of planned video `plan_id`."""

    chat_id: int | None
    text: str
    plan_id: int | None = None
    approve: bool = False


class JobSubmitter:
    """What the planner needs of a job runner."""

    def submit(self, request: JobRequest, origin: Origin) -> Job:  # pragma: no cover - a Protocol's shape
        """Queue a job."""
        ...


def make_time(store: Store, preset: str) -> timedelta:
    """How long a video of this preset takes to make: the 90th percentile of its last 20 finished jobs (the median
    while there are fewer than 5), else DEFAULT_MAKE. A percentile, not the mean: bench/lead_time.py shows that on
    an uneven machine twice the median leaves one video in six late for its approval window."""
    with Session(store.engine) as session:
        rows = session.exec(select(Job).where(Job.preset == preset, Job.state == str(JobState.DONE),
                                              col(Job.started).is_not(None), col(Job.finished).is_not(None))
                            .order_by(col(Job.id).desc()).limit(20))
        seconds = [(as_utc(j.finished) - as_utc(j.started)).total_seconds() for j in rows]  # type: ignore[operator]
    if not seconds:
        return DEFAULT_MAKE
    return timedelta(seconds=float(np.percentile(seconds, 90)) if len(seconds) >= 5 else median(seconds))


def start_time(slot: datetime, channel: Channel, make: timedelta) -> datetime:
    """When a video for `slot` is started: twice its making time, the approval window and the upload margin ahead."""
    return slot - UPLOAD_MARGIN - timedelta(hours=channel.approval_hours) - 2 * make


def back_scheduled(wanted: dict[int, tuple[datetime, timedelta]]) -> dict[int, datetime]:
    """Start times on one worker: each video is wanted by its time (its approval window's opening) and takes twice
    its making time; the latest wanted runs last, and each one before it must end before the next begins.

    With channels publishing at the same hour, the rule alone would start their videos together and
    they would wait for each other; backwards from the latest, each starts early enough (bench/lead_time.py).
    """
    starts: dict[int, datetime] = {}
    next_start: datetime | None = None
    for key, (by, make) in sorted(wanted.items(), key=lambda item: item[1][0], reverse=True):
        finish = by if next_start is None else min(by, next_start)
        starts[key] = next_start = finish - 2 * make
    return starts


def when(moment: datetime | None, channel: Channel) -> str:
    """A time as the channel's owner reads it: "Wed 3 Dec 18:00 (Europe/Berlin)"."""
    calendar = calendar_of(channel)
    if moment is None:
        return "no time yet"
    local = as_utc(moment).astimezone(calendar.zone) if calendar else as_utc(moment)
    return f"{local:%a %-d %b %H:%M} ({channel.timezone})"


class Planner:
    """Moves every channel's planned videos on; each step's news comes back as PlanNotices for the chats."""

    def __init__(self, settings: Settings, store: Store, runner: JobSubmitter, youtube: Callable[[str], YouTube],
                 testers: Callable[[str], ABTester] | None = None) -> None:
        self.settings, self.store, self.runner, self.youtube = settings, store, runner, youtube
        self.testers = testers  # each channel's A/B tester: a video that goes public gets its thumbnail test
        self.channels, self.plans = ChannelBook(store), PlanBook(store)
        self.starts: dict[int, datetime] = {}  # each backlog video's start time, worked out at each tick

    def tick(self, now: datetime) -> list[PlanNotice]:
        """Everything due by `now`, for every channel."""
        notices: list[PlanNotice] = []
        for channel in self.channels.all():
            self.give_days(channel, now)
        self.starts = self.start_times()
        for channel in self.channels.all():
            for row in self.plans.find(channel.name, ACTIVE):
                try:
                    notices += self._step(self.channels.need(channel.name), row, now)
                except VideoFactoryError as error:  # one video's trouble stops neither the others nor the tick
                    log.warning("planned video #%s: %s", row.id, error)
        return notices

    def start_times(self) -> dict[int, datetime]:
        """When each planned video with a day is to be started, all channels on one worker (back_scheduled)."""
        wanted: dict[int, tuple[datetime, timedelta]] = {}
        makes: dict[str, timedelta] = {}  # one reading of the jobs table per preset, not per planned video
        for channel in self.channels.all():
            for row in self.plans.find(channel.name, (PlanState.BACKLOG,)):
                if row.slot is not None:
                    preset = row.preset or channel.preset or ""
                    if preset not in makes:
                        makes[preset] = make_time(self.store, preset)
                    make = makes[preset]
                    wanted[int(row.id)] = (start_time(as_utc(row.slot), channel, make) + 2 * make, make)  # type: ignore[arg-type]
        return back_scheduled(wanted)

    def give_days(self, channel: Channel, now: datetime) -> None:
        """The channel's free publishing times within HORIZON, given to its backlog topics in order."""
        calendar = calendar_of(channel)
        if calendar is None:
            return
        taken = {as_utc(row.slot) for row in self.plans.find(channel.name, ACTIVE) if row.slot is not None}
        waiting = [row for row in self.plans.find(channel.name, (PlanState.BACKLOG,)) if row.slot is None]
        free = [slot for slot in calendar.slots(now + UPLOAD_MARGIN, now + HORIZON) if slot not in taken]
        for row, slot in zip(waiting, free):
            self.plans.move(int(row.id), PlanState.BACKLOG, now, slot=slot)  # type: ignore[arg-type]

    def _step(self, channel: Channel, row: PlannedVideo, now: datetime) -> list[PlanNotice]:
        match row.state:
            case PlanState.BACKLOG:
                return self._start(channel, row, now)
            case PlanState.MAKING:
                return self._collect(channel, row, now)
            case PlanState.REVIEW:
                return self._deadline(channel, row, now)
            case PlanState.APPROVED:
                return self._upload(channel, row, now)
            case PlanState.UPLOADED:
                return self._finish(channel, row, now)
            case PlanState.SCHEDULED if now >= as_utc(row.slot):  # type: ignore[arg-type]
                return self._public(channel, row, now)
        return []

    def _public(self, channel: Channel, row: PlannedVideo, now: datetime) -> list[PlanNotice]:
        """A scheduled video whose time has come: public if YouTube says so (read now, not assumed: an unaudited
        project's uploads are locked private after the upload), and then its thumbnails' A/B test starts."""
        if self._blocked(channel, now):
            return []
        try:
            status = self.youtube(channel.name).video_status(row.video_id)  # type: ignore[arg-type]
        except YouTubeError as error:
            return self._trouble(channel, row, error, now)
        if not status.seen:
            if status.publish_at is not None and now < as_utc(row.slot) + PUBLIC_GRACE:  # type: ignore[operator]
                return []  # YouTube has not got to it yet
            self.plans.move(int(row.id), PlanState.FAILED, now, note=unseen_reason(status))  # type: ignore[arg-type]
            return [PlanNotice(channel.chat_id, f"⚠️ #{row.id} «{row.topic}» did not go public at its time: "
                                                f"{unseen_reason(status)}. No A/B test was started.")]
        self.plans.move(int(row.id), PlanState.PUBLISHED, now)  # type: ignore[arg-type]
        if self.testers is None:
            return []
        folder = self._folder(row)
        tester = self.testers(channel.name)
        try:
            test = tester.start_thumbnails(row.video_id, folder, channel.chat_id, now,  # type: ignore[arg-type]
                                           as_utc(row.slot), approved_design(folder))  # type: ignore[arg-type]
        except VideoFactoryError as error:
            return [PlanNotice(channel.chat_id, f"⚠️ #{row.id} is public, but its A/B test could not start: {error}")]
        return [PlanNotice(channel.chat_id, f"🧪 #{row.id} «{row.topic}» is {status.privacy} on "
                                            f"{channel.title or channel.name}; A/B test #{test.id} of its thumbnails "
                                            f"started (/abtest stop {test.id} ends it).\n{told(tester.power())}")]

    def _start(self, channel: Channel, row: PlannedVideo, now: datetime) -> list[PlanNotice]:
        """A topic whose time to be made has come: its job, told to the chat through the job's own messages."""
        preset = row.preset or channel.preset
        if row.slot is None or now < self.starts.get(int(row.id), now):  # type: ignore[arg-type]
            return []
        if preset is None:
            self.plans.move(int(row.id), PlanState.FAILED, now, note="no preset")  # type: ignore[arg-type]
            return [PlanNotice(channel.chat_id, f"⚠️ #{row.id} «{row.topic}» has no preset: give {channel.name} one "
                                                f"(`videofactory plan schedule … --preset NAME`) and add the topic again.")]
        request = JobRequest(topic=row.topic, preset=preset, length=row.length, review=False,  # type: ignore[arg-type]
                             monetised=channel.monetised)
        origin = Origin("telegram", chat_id=channel.chat_id) if channel.chat_id else Origin("cli")
        try:
            job = self.runner.submit(request, origin)
        except InputError as error:
            self.plans.move(int(row.id), PlanState.FAILED, now, note=str(error))  # type: ignore[arg-type]
            return [PlanNotice(channel.chat_id, f"⚠️ #{row.id} «{row.topic}» for {channel.name} cannot be made: {error}")]
        self.plans.move(int(row.id), PlanState.MAKING, now, job_id=job.id)  # type: ignore[arg-type]
        return [PlanNotice(channel.chat_id, f"🗓 Making #{row.id} «{row.topic}» for {channel.name}, "
                                            f"to go public {when(row.slot, channel)}.")]

    def _collect(self, channel: Channel, row: PlannedVideo, now: datetime) -> list[PlanNotice]:
        """A job that ended: its video to approve, or why there is none."""
        job = self.store.get(Job, row.job_id)
        if job is None or job.state in (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED):
            return []
        if job.state != JobState.DONE:
            self.plans.move(int(row.id), PlanState.FAILED, now, note=job.error or job.state)  # type: ignore[arg-type]
            return [PlanNotice(channel.chat_id, f"⚠️ #{row.id} «{row.topic}» could not be made: {job.error or job.state}")]
        self.plans.move(int(row.id), PlanState.REVIEW, now)  # type: ignore[arg-type]
        deadline = as_utc(row.slot) - UPLOAD_MARGIN  # type: ignore[arg-type]
        fallback = "it is published anyway" if channel.auto else "it is held"
        return [PlanNotice(channel.chat_id, f"🗓 #{row.id} «{row.topic}» is made for {channel.name}, to go public "
                                            f"{when(row.slot, channel)}. Approve it by {when(deadline, channel)}, or "
                                            f"{fallback}.", int(row.id), approve=True)]  # type: ignore[arg-type]

    def _deadline(self, channel: Channel, row: PlannedVideo, now: datetime) -> list[PlanNotice]:
        """A video still unapproved at its deadline: held, or (auto) published anyway."""
        if now < as_utc(row.slot) - UPLOAD_MARGIN:  # type: ignore[operator]
            return []
        if channel.auto:
            self.plans.move(int(row.id), PlanState.APPROVED, now, note="published unapproved (auto)")  # type: ignore[arg-type]
            return self._upload(channel, self.plans.get(int(row.id)), now)  # type: ignore[arg-type]
        self.plans.move(int(row.id), PlanState.HELD, now, note="not approved by its deadline")  # type: ignore[arg-type]
        return [PlanNotice(channel.chat_id, f"⏸ #{row.id} «{row.topic}» was not approved by its deadline: held, not "
                                            f"published. Approve it to publish it now.", int(row.id), approve=True)]  # type: ignore[arg-type]

    def _folder(self, row: PlannedVideo) -> Path:
        """The made video's folder: its job's own."""
        return Path(self.store.get(Job, row.job_id).folder)  # type: ignore[union-attr]

    def _blocked(self, channel: Channel, now: datetime) -> bool:
        """Whether the channel's YouTube calls wait: its authorisation refused, or its quota spent until the reset."""
        return channel.auth_state == AuthState.REVOKED or bool(channel.quota_until and now < as_utc(channel.quota_until))

    def _upload(self, channel: Channel, row: PlannedVideo, now: datetime) -> list[PlanNotice]:
        """An approved video up to its channel, private until its time (or soon, if its time has passed)."""
        if self._blocked(channel, now):
            return []
        folder = self._folder(row)
        at = max(as_utc(row.slot), now + LATE)  # type: ignore[arg-type]
        try:
            done = publish(folder, self.settings, self.youtube(channel.name), "private", at, now=now)
        except YouTubeError as error:
            uploaded = read_manifest(folder).youtube
            if uploaded is not None:  # up, but its captions or thumbnail wait: the next tick sets them, never re-uploads
                self.plans.move(int(row.id), PlanState.UPLOADED, now, video_id=uploaded.video_id, slot=at,  # type: ignore[arg-type]
                                note=str(error))
            return self._trouble(channel, row, error, now)
        except InputError as error:  # published by hand meanwhile, or its files are gone: not tried again
            self.plans.move(int(row.id), PlanState.FAILED, now, note=str(error))  # type: ignore[arg-type]
            return [PlanNotice(channel.chat_id, f"⚠️ #{row.id} «{row.topic}» was not scheduled: {error}")]
        return self._scheduled(channel, row, done, at, now)

    def _finish(self, channel: Channel, row: PlannedVideo, now: datetime) -> list[PlanNotice]:
        """An uploaded video whose captions or thumbnail failed for a passing reason: set them now."""
        if self._blocked(channel, now):
            return []
        folder = self._folder(row)
        uploaded = read_manifest(folder).youtube
        if uploaded is None:
            raise InputError(f"#{row.id} is marked uploaded, but its job.json has no upload")
        language = video_meta(folder, self.settings, "private").language
        try:
            uploaded = finish_upload(folder, self.youtube(channel.name), uploaded, language)
        except YouTubeError as error:
            return self._trouble(channel, row, error, now)
        done = Published(uploaded.video_id, uploaded.url, uploaded.privacy, uploaded.captions_id, uploaded.requested,
                         True, tuple(uploaded.problems))
        return self._scheduled(channel, row, done, as_utc(row.slot), now)  # type: ignore[arg-type]

    def _scheduled(self, channel: Channel, row: PlannedVideo, done: Published, at: datetime,
                   now: datetime) -> list[PlanNotice]:
        self.plans.move(int(row.id), PlanState.SCHEDULED, now, video_id=done.video_id, slot=at, note=None)  # type: ignore[arg-type]
        late = " (late: its time had passed)" if at > as_utc(row.slot) else ""  # type: ignore[arg-type]
        problems = "".join(f" ⚠️ {problem}." for problem in done.problems)
        return [PlanNotice(channel.chat_id, f"✅ #{row.id} «{row.topic}» is on {channel.title or channel.name}: "
                                            f"{done.url}, private until {when(at, channel)}{late}.{problems}")]

    def _trouble(self, channel: Channel, row: PlannedVideo, error: YouTubeError, now: datetime) -> list[PlanNotice]:
        """A YouTube refusal: the channel's authorisation, its quota, or a passing fault tried again at the next tick."""
        if isinstance(error, AuthError):
            return self.refused(channel, str(error), now)
        if isinstance(error, QuotaError):
            channel.quota_until = quota_reset(now)
            self.store.add(channel)
            return [PlanNotice(channel.chat_id, f"⏳ {channel.name}: {error}. #{row.id} goes on after the quota resets.")]
        log.warning("planned video #%s on %s: %s", row.id, channel.name, error)
        return []

    def refused(self, channel: Channel, why: str, now: datetime) -> list[PlanNotice]:
        """A channel's authorisation refused: its uploads and A/B tests pause; its chat is told once."""
        was = channel.auth_state
        self.channels.mark(channel.name, AuthState.REVOKED, why, now)
        if was == AuthState.REVOKED:
            return []
        return [PlanNotice(channel.chat_id, f"🔑 YouTube refused the authorisation of {channel.name}: its scheduled "
                                            f"publishes and A/B tests wait. On the factory's machine, run "
                                            f"`videofactory youtube auth --channel {channel.name}`; they go on after.")]

    def approve(self, plan_id: int, now: datetime) -> PlannedVideo:
        """The owner approved a made (or held) video: it goes up at the next tick."""
        row = self.plans.get(plan_id)
        if row is None or row.state not in (PlanState.REVIEW, PlanState.HELD):
            raise InputError(f"#{plan_id} is not waiting for approval")
        return self.plans.move(plan_id, PlanState.APPROVED, now, note=None)

    def hold(self, plan_id: int, now: datetime) -> PlannedVideo:
        """The owner held a made video: it is not published."""
        row = self.plans.get(plan_id)
        if row is None or row.state not in (PlanState.REVIEW, PlanState.APPROVED):
            raise InputError(f"#{plan_id} is not waiting for approval")
        return self.plans.move(plan_id, PlanState.HELD, now, note="held by its owner")

    def ideas(self, name: str, count: int = 10) -> list[PlannedVideo]:
        """Ten new topics for the channel from the language model, kept as ideas (repeats of what it has left out)."""
        from engine import backends
        from engine.presets import load_preset

        channel = self.channels.need(name)
        pool = backends.token_pool(self.settings, self.store)
        if pool is None:
            raise InputError("ideas need a language model: set VF_HF_TOKENS (or VF_HF_TOKENS_FILE)")
        described = f": {load_preset(channel.preset, self.settings.user_presets_dir).description}" if channel.preset else ""
        niche = f"{channel.title or channel.name}{described}"
        covered = [row.topic for row in self.plans.find(name) if row.state != PlanState.REMOVED]
        topics = topic_ideas(backends.llm_asker(self.settings, pool, "ideas"), niche, covered, count)
        return self.plans.add(name, [PlanLine(topic) for topic in topics], state=PlanState.IDEA)[0]

    def watch_credentials(self, now: datetime) -> list[PlanNotice]:
        """Check every channel's authorisation with Google; a refused or soon-ending one told to its chat at once."""
        notices: list[PlanNotice] = []
        for channel in self.channels.all():
            try:
                verify_credentials(self.settings, channel.name)
            except AuthError as error:
                notices += self.refused(channel, str(error), now)
                continue
            except YouTubeError as error:  # Google unreachable: nothing is known, nothing changes
                log.info("checking %s: %s", channel.name, error)
                continue
            ends = token_ends(channel)
            if ends is not None and now >= ends - WARN_BEFORE:
                self.channels.mark(channel.name, AuthState.EXPIRING, f"ends {ends:%Y-%m-%d %H:%M} UTC", now)
                notices.append(PlanNotice(channel.chat_id, f"🔑 The authorisation of {channel.name} ends "
                                                           f"{when(ends, channel)} (its OAuth app is in Testing): run "
                                                           f"`videofactory youtube auth --channel {channel.name}` before."))
            else:
                self.channels.mark(channel.name, AuthState.OK, None, now)
        return notices
