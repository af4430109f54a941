"""Channels: each with its own YouTube authorisation, its publishing calendar, and a watch on its authorisation.

A channel is named by us (`history`, `crime-en`); `videofactory youtube auth --channel NAME` keeps its
credentials in their own file and reads back its YouTube ID and title. A channel may name its own OAuth
client file, and so its own Google Cloud project with its own quota. Its calendar is publishing days and
a local time in a time zone; the planner (engine/planner.py) makes its videos ahead of those times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from engine.errors import InputError
from engine.store import Store, as_utc
from engine.tables import Channel

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
TESTING_TOKEN_DAYS = 7  # Google expires the refresh tokens of an OAuth app in "Testing" after 7 days
WARN_BEFORE = timedelta(days=1)


class AuthState(StrEnum):
    """How a channel's authorisation stands, as last checked."""

    OK = "ok"
    EXPIRING = "expiring"  # a Testing app's token, within a day of its end
    REVOKED = "revoked"  # refused by Google: its publishes and A/B tests wait for `youtube auth` again


def checked_name(name: str) -> str:
    """A channel's name as commands may use it; an InputError otherwise."""
    if not NAME.match(name or ""):
        raise InputError(f"'{name}' is not a channel name: lower-case letters, digits and dashes, up to 32")
    return name


@dataclass(frozen=True)
class Calendar:
    """When a channel publishes: weekdays (0 = Monday) at a local time in a time zone."""

    days: tuple[int, ...]
    at: time
    zone: ZoneInfo

    def slots(self, start: datetime, end: datetime) -> list[datetime]:
        """The publishing times in [start, end), in UTC, earliest first (local times through DST as the zone says)."""
        found, day = [], start.astimezone(self.zone).date() - timedelta(days=1)
        while True:
            local = datetime.combine(day, self.at, tzinfo=self.zone)
            moment = local.astimezone(timezone.utc)
            if moment >= end:
                return found
            if day.weekday() in self.days and moment >= start:
                found.append(moment)
            day += timedelta(days=1)


def parse_calendar(days: str, at: str, zone: str) -> Calendar:
    """"mon,wed,fri", "18:00", "Europe/Berlin" as a Calendar; an InputError says which part is wrong."""
    names = [d.strip().lower()[:3] for d in days.split(",") if d.strip()]
    if days.strip().lower() in ("daily", "every day"):
        names = list(WEEKDAYS)
    if not names or any(name not in WEEKDAYS for name in names):
        raise InputError(f"'{days}' is not a list of days such as mon,wed,fri (or daily)")
    try:
        hour, minute = (int(part) for part in at.split(":"))
        local = time(hour, minute)
    except ValueError:
        raise InputError(f"'{at}' is not a time such as 18:00") from None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"'{zone}' is not a time zone such as Europe/Berlin or UTC") from None
    return Calendar(tuple(sorted({WEEKDAYS.index(name) for name in names})), local, tz)


def calendar_of(channel: Channel) -> Calendar | None:
    """The channel's calendar, or None when it has none."""
    if not channel.days or not channel.at:
        return None
    return parse_calendar(channel.days, channel.at, channel.timezone)


def calendar_text(channel: Channel) -> str:
    """"mon, wed, fri at 18:00 Europe/Berlin", or "no calendar"."""
    if not channel.days or not channel.at:
        return "no calendar"
    return f"{channel.days.replace(',', ', ')} at {channel.at} {channel.timezone}"


class ChannelBook:
    """The channels, in the database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, name: str) -> Channel | None:
        """A channel by name."""
        return self.store.get(Channel, name)

    def need(self, name: str) -> Channel:
        """A channel by name; an InputError that lists the channels when there is none of that name."""
        channel = self.get(checked_name(name))
        if channel is None:
            known = ", ".join(c.name for c in self.all()) or "none yet"
            raise InputError(f"there is no channel '{name}' (channels: {known}); "
                             f"`videofactory youtube auth --channel {name}` adds it")
        return channel

    def all(self) -> list[Channel]:
        """Every channel, by name."""
        with Session(self.store.engine) as session:
            return list(session.exec(select(Channel).order_by(Channel.name)))

    def set_monetised(self, name: str, monetised: bool) -> Channel:
        """Mark a channel as monetised (or not): its jobs then refuse what may not be used commercially."""
        channel = self.need(name)
        channel.monetised = monetised
        return self.store.add(channel)  # type: ignore[return-value]

    def monetised(self, name: str | None) -> bool:
        """Whether the named channel is marked monetised (False for no channel, or one not known)."""
        channel = self.get(name) if name else None
        return bool(channel and channel.monetised)

    def of_chat(self, chat_id: int) -> list[Channel]:
        """The channels whose videos a chat approves."""
        return [channel for channel in self.all() if channel.chat_id == chat_id]

    def authorised(self, name: str, youtube_id: str, title: str, client_secrets: str | None, testing_app: bool,
                   now: datetime) -> Channel:
        """A channel (new or again) authorised: its identity on YouTube, and its authorisation good from now."""
        channel = self.get(checked_name(name)) or Channel(name=name)
        channel.youtube_id, channel.title, channel.testing_app = youtube_id, title, testing_app
        channel.client_secrets = client_secrets or channel.client_secrets
        channel.authorised, channel.auth_checked = now, now
        channel.auth_state, channel.auth_note = str(AuthState.OK), None
        return self.store.add(channel)  # type: ignore[return-value]

    def set_calendar(self, name: str, calendar: tuple[str, str, str] | None, *, auto: bool | None = None,
                     chat_id: int | None = None, preset: str | None = None,
                     approval_hours: float | None = None) -> Channel:
        """A channel's calendar ("mon,wed,fri", "18:00", "Europe/Berlin"; None: none), and what else is given."""
        channel = self.need(name)
        if calendar is not None:
            parsed = parse_calendar(*calendar)
            channel.days = ",".join(WEEKDAYS[d] for d in parsed.days)
            channel.at, channel.timezone = f"{parsed.at:%H:%M}", calendar[2]
        if approval_hours is not None and not 0 <= approval_hours <= 24 * 14:
            raise InputError("the approval window is 0 to 336 hours")
        for field, value in (("auto", auto), ("chat_id", chat_id), ("preset", preset), ("approval_hours", approval_hours)):
            if value is not None:
                setattr(channel, field, value)
        return self.store.add(channel)  # type: ignore[return-value]

    def mark(self, name: str, state: AuthState, note: str | None, now: datetime) -> Channel:
        """The result of a check of the channel's authorisation."""
        channel = self.need(name)
        channel.auth_state, channel.auth_note, channel.auth_checked = str(state), note, now
        return self.store.add(channel)  # type: ignore[return-value]

    def paused(self) -> set[str]:
        """Channels whose publishes and A/B tests wait (their authorisation was refused)."""
        return {c.name for c in self.all() if c.auth_state == AuthState.REVOKED}


def token_ends(channel: Channel) -> datetime | None:
    """When a Testing app's refresh token stops working; None when the app is published (no such end)."""
    if not channel.testing_app or channel.authorised is None:
        return None
    return as_utc(channel.authorised) + timedelta(days=TESTING_TOKEN_DAYS)
