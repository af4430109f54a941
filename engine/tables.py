"""Every table of the factory's database, in one place; the schema changes through engine/migrations.

Rows are plain records. What a row means (the job's state machine, the token pool's rules, the A/B
test's decisions) lives in the modules that own it; they read and write these tables through a `Store`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, in UTC, for timestamps in the database."""
    return datetime.now(timezone.utc)


class Job(SQLModel, table=True):
    """One video someone asked for: who asked, what exactly, the preset as it was, where it stands."""

    __tablename__ = "jobs"
    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(default="queued", index=True)  # engine.jobs.JobState
    origin: str = "cli"  # cli, telegram, web: who follows the job's events
    chat_id: int | None = Field(default=None, index=True)  # the chat that asked (origin telegram)
    message_id: int | None = None  # the chat's message that shows the job's progress
    topic: str
    preset: str  # the preset's name, for listings and statistics
    slug: str = Field(index=True)
    folder: str = ""  # <output>/<slug>-<id>: the job's own folder, never shared
    request_json: str = "{}"  # engine.models.JobRequest, resolved: what the job makes
    preset_json: str = "{}"  # engine.presets.Preset as it was when the job was made
    created: datetime = Field(default_factory=utcnow)
    started: datetime | None = None  # the first time it ran
    finished: datetime | None = None
    attempts: int = 0  # how often it was started (a resume is another attempt)
    worker: str | None = None  # "host:pid" of the process running it now
    lease_until: datetime | None = None  # on a queue: the worker renews this while it runs the job
    sent_at: datetime | None = None  # on a queue: when its message last went on it; None while it is not on it
    cancel_requested: bool = False  # seen by the running job between two items
    resume_after: datetime | None = None  # a paused job goes on from here (a token's cooldown or reset)
    error: str | None = None  # why it failed or paused, in one sentence
    stage: str | None = None  # progress: the running stage, how far, and the time left in it
    stage_done: float = 0.0
    stage_total: float = 0.0
    stage_unit: str = ""
    eta_seconds: float | None = None
    delivered: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    thumbnail: int | None = None  # the approved thumbnail, 1-3
    video_seconds: float | None = None


class StageRun(SQLModel, table=True):
    """One stage of one job run: backend, timing, outcome and how much came from the cache."""

    __tablename__ = "stage_runs"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    stage: str = Field(index=True)
    backend: str = ""
    started: datetime = Field(default_factory=utcnow)
    finished: datetime | None = None
    outcome: str = "running"  # running, done, failed
    error: str | None = None
    cache_hit: bool = False
    items_total: int = 0
    items_cached: int = 0
    items_computed: int = 0


class TokenLedger(SQLModel, table=True):
    """What one token has done: calls, estimated spend, its last refusals and its state."""

    __tablename__ = "hf_tokens"
    key: str = Field(primary_key=True)  # sha256 of the token: never the token itself
    fingerprint: str
    month: str = ""  # the month the spend counts for, "2026-11"
    calls: int = 0
    spend_usd: float = 0.0
    state: str = "ok"  # ok, throttled, exhausted, invalid
    cooldown_until: datetime | None = None
    last_402: datetime | None = None
    last_429: datetime | None = None
    last_401: datetime | None = None
    count_402: int = 0  # refusals this month, by kind
    count_429: int = 0
    count_401: int = 0
    images_ok: int = 0  # pictures made with this token this month
    images_failed: int = 0  # picture attempts it did not make (refused, or a failure on the service's side)
    account: str = ""  # the Hugging Face account it belongs to (whoami); "" until known
    identified_at: datetime | None = None  # when whoami last answered for it (asked once a day)
    problem: str = ""  # why it is invalid, in words: revoked, or no inference permission


class HFAccount(SQLModel, table=True):
    """One Hugging Face account: what it may do, and its inference credit as last measured."""

    __tablename__ = "hf_accounts"
    name: str = Field(primary_key=True)
    is_pro: bool = False
    can_pay: bool = False
    measured_at: datetime | None = None  # None: never measured; the ledger's estimate stands
    included_usd: float = 0.0
    used_usd: float = 0.0
    limit_usd: float | None = None
    spent_at_measure: float = 0.0  # the ledger's spend of its tokens when measured: later calls add to `used_usd`
    period_start: datetime | None = None
    period_end: datetime | None = None  # when the credit resets
    usage_error: str = ""  # why the last measurement failed, in words ("HTTP 403"); "" when it worked


class ABTest(SQLModel, table=True):
    """One A/B test of thumbnails or titles on one published video."""

    __tablename__ = "ab_tests"
    id: int | None = Field(default=None, primary_key=True)
    video_id: str = Field(index=True)
    folder: str  # the video's output folder, where thumbnails/1-3.jpg are
    chat_id: int | None = None  # where reports go
    channel: str | None = None  # the channel the video is on (None: the one authorisation); paused while it is revoked
    kind: str = "thumbnail"  # thumbnail or title
    variants: int = 3
    titles_json: str = "[]"  # a title test's titles, variant 1 first
    approved: int = 1  # the variant the owner chose: it stays when no difference can be told
    published: datetime = Field(default_factory=utcnow)  # the video's age counts from here
    started: datetime = Field(default_factory=utcnow)
    first_day: date  # the first Pacific day that is judged (earlier ones are burn-in)
    max_cycles: int = 6
    seed: int = 0  # the schedule's and the re-randomisations' seed
    state: str = "running"  # running, done, stopped
    early_report_sent: bool = False
    reported_cycles: int = 0  # cycles whose report went out
    winner: int | None = None
    decided_by: str | None = None  # statistics, no difference, hand, upgrade
    finished: datetime | None = None


class ABDay(SQLModel, table=True):
    """One planned day of a test's schedule: the variant on the video that Pacific day."""

    __tablename__ = "ab_schedule"
    id: int | None = Field(default=None, primary_key=True)
    test_id: int = Field(foreign_key="ab_tests.id", index=True)
    day: date
    cycle: int
    variant: int
    switched: datetime | None = None  # when the variant went up; None while it has not
    late: bool = False  # went up after 01:00 Pacific: the day mixes two variants and is not judged


class ABLook(SQLModel, table=True):
    """A look of an A/B test as it was made (engine.abstats.Look), and the figures it used: never made again."""

    __tablename__ = "ab_looks"
    id: int | None = Field(default=None, primary_key=True)
    test_id: int = Field(foreign_key="ab_tests.id", index=True)
    cycle: int
    share: float
    statistic: float
    p_value: float
    boundary: float
    spent: float
    alive: str  # hex of packed flags, one per re-randomised schedule
    decided: bool
    leader: int
    days: int
    figures_json: str = "{}"  # {"YYYY-MM-DD": [impressions, clicks]} of the days it judged
    made: datetime = Field(default_factory=utcnow)


class ReachDay(SQLModel, table=True):
    """A video's thumbnail impressions and clicks on one Pacific day, from the latest reach report of that day."""

    __tablename__ = "reach_days"
    __table_args__ = (UniqueConstraint("video_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    video_id: str = Field(index=True)
    day: date
    impressions: int
    clicks: float
    report_created: datetime


class ReachReport(SQLModel, table=True):
    """A reach report already read, so it is never downloaded twice."""

    __tablename__ = "reach_reports"
    id: str = Field(primary_key=True)
    created: datetime
    job: str | None = None  # the Reporting API job (one per channel) that made it; None: read before 0012


class ChatSettings(SQLModel, table=True):
    """A chat's own defaults, set with /settings; None means the preset's."""

    __tablename__ = "bot_chat_settings"
    chat_id: int = Field(primary_key=True)
    preset: str | None = None
    language: str | None = None
    caption_style: str | None = None
    voice: str | None = None  # a Piper voice (hub name or "joe"); None: the preset's or the language's own
    review: bool | None = None  # review the pictures before the render; None: the preset's `images.review`
    stats_time: str | None = None  # "HH:MM" in VF_TIMEZONE: a daily /stats message
    stats_sent_on: date | None = None  # the last day it was sent


class Channel(SQLModel, table=True):
    """A YouTube channel the factory feeds: its authorisation, its calendar, and the chat that approves its videos."""

    __tablename__ = "channels"
    name: str = Field(primary_key=True)  # ours: [a-z0-9-], what commands and presets call it
    youtube_id: str | None = None  # read back from YouTube when authorised
    title: str | None = None
    client_secrets: str | None = None  # its own OAuth client file: its own Google Cloud project, its own quota
    testing_app: bool = False  # that OAuth app is in "Testing": Google expires its refresh tokens after 7 days
    authorised: datetime | None = None
    auth_state: str = "ok"  # engine.channels.AuthState
    auth_note: str | None = None
    auth_checked: datetime | None = None
    chat_id: int | None = None  # where its videos are sent for approval and its news told
    preset: str | None = None  # its videos' preset, unless a planned topic names one
    days: str = ""  # publishing days, "mon,wed,fri"; "" none: nothing is made by itself
    at: str | None = None  # "HH:MM" local time of those days
    timezone: str = "UTC"
    auto: bool = False  # a video still unapproved at its deadline is published anyway (else held)
    approval_hours: float = 12.0  # how long before the deadline a made video is wanted
    quota_until: datetime | None = None  # YouTube refused its uploads for quota until then
    monetised: bool = False  # in the YouTube Partner Programme: nothing non-commercial (voice, picture) goes on it


class PlannedVideo(SQLModel, table=True):
    """A topic in a channel's backlog, and what became of it: made, approved, scheduled on YouTube."""

    __tablename__ = "planned_videos"
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(index=True)
    topic: str
    preset: str | None = None  # None: the channel's
    length: str | None = None
    publish_at: datetime | None = None  # a time asked for (an imported CSV's); else the calendar's next free day
    slot: datetime | None = None  # when it goes public, once it has a day
    state: str = Field(default="backlog", index=True)  # engine.planner.PlanState
    job_id: int | None = None
    video_id: str | None = None
    note: str | None = None  # why it is held or failed
    added: datetime = Field(default_factory=utcnow)
    changed: datetime = Field(default_factory=utcnow)


class WebLogin(SQLModel, table=True):
    """A one-time login link for the web dashboard, sent by the bot: short-lived, single use."""

    __tablename__ = "web_logins"
    key: str = Field(primary_key=True)  # sha256 of the link's secret: never the secret itself
    user_id: int
    admin: bool = False
    created: datetime = Field(default_factory=utcnow)
    expires: datetime
    used: datetime | None = None


class WebSession(SQLModel, table=True):
    """A logged-in dashboard session: the cookie carries its secret, the row decides whether it still works."""

    __tablename__ = "web_sessions"
    key: str = Field(primary_key=True)  # sha256 of the session's secret: never the secret itself
    user_id: int | None = Field(default=None, index=True)  # None: the password's admin
    admin: bool = False
    password_mark: str | None = None  # a keyed digest of the password it was opened with (password sessions)
    created: datetime = Field(default_factory=utcnow)
    expires: datetime
    ended: datetime | None = None  # logged out, access lost or the password changed
