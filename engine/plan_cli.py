"""`videofactory channels` and `videofactory plan …`: the channels, their backlogs and their calendars.

The bot runs the calendar (it makes, asks for approval and publishes); these commands set it up and
show where it stands, from the same database.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from engine.channels import ChannelBook, calendar_text
from engine.config import Settings
from engine.errors import InputError
from engine.planner import when
from engine.plans import PlanBook, PlanLine, PlanState, read_plan_file
from engine.presets import load_preset
from engine.tables import PlannedVideo


def _store(settings: Settings):  # noqa: ANN202 - engine.store.Store
    from engine.store import open_store

    return open_store(settings)


MONETISED_MEANS = ("its videos refuse a voice or a picture whose licence (or a voice's lineage) forbids commercial use")


def plan_line(row: PlannedVideo, channels: ChannelBook) -> str:
    """One planned video: number, state, time, channel, topic."""
    channel = channels.get(row.channel)
    at = when(row.slot, channel) if channel is not None and row.slot else "no day yet"
    note = f" ({row.note})" if row.note else ""
    return f"#{row.id:<4} {row.state:<9} {at:<32} {row.channel:<12} {row.topic}{note}"


def _cmd_channels(args: argparse.Namespace, settings: Settings) -> int:
    book = ChannelBook(_store(settings))
    for name, flag in ((args.monetised, True), (args.not_monetised, False)):
        if name:
            book.set_monetised(name, flag)
            print(f"{name} is {'' if flag else 'not '}monetised: {MONETISED_MEANS if flag else 'no licence check beyond the usual'}")
    channels = book.all()
    if not channels:
        print("no channels yet: `videofactory youtube auth --channel NAME` adds one")
    for channel in channels:
        print(f"{channel.name:<12} {channel.title or '?'} ({channel.youtube_id or 'not read'}): {calendar_text(channel)}"
              f"{', auto' if channel.auto else ''}{', monetised' if channel.monetised else ''}; authorisation "
              f"{channel.auth_state}{f' ({channel.auth_note})' if channel.auth_note else ''}")
    return 0


def _cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    channels, plans = ChannelBook(store), PlanBook(store)
    now = datetime.now(timezone.utc)
    if args.action == "list":
        rows = [r for r in plans.find(args.channel) if r.state != PlanState.REMOVED]
        print("\n".join(plan_line(r, channels) for r in rows) if rows else "nothing planned")
        return 0
    if args.action == "remove":
        for number in args.items:
            print(f"removed: {plan_line(plans.remove(_number(number), now), channels)}")
        return 0
    channel = channels.need(args.channel or _only_channel(channels)).name
    if args.action == "schedule":
        if len(args.items) != 3:
            raise InputError("give the days, the time and the time zone: plan schedule --channel NAME mon,wed,fri "
                             "18:00 Europe/Berlin")
        if args.preset:
            load_preset(args.preset, settings.user_presets_dir)  # an unknown one is refused now, not at every video
        done = channels.set_calendar(channel, tuple(args.items), auto=args.auto, chat_id=args.chat, preset=args.preset,  # type: ignore[arg-type]
                                     approval_hours=args.approval_hours)
        print(f"{channel}: {calendar_text(done)}{', auto' if done.auto else ''}; approvals to chat {done.chat_id}")
        return 0
    if args.action == "import":
        if len(args.items) != 1:
            raise InputError("give one file: plan import --channel NAME FILE")
        lines = read_plan_file(Path(args.items[0]))
    else:
        if not args.items:
            raise InputError('give one or more topics: plan add --channel NAME "topic" …')
        lines = [PlanLine(t, args.preset, args.length) for t in args.items]
    for preset in sorted({line.preset for line in lines if line.preset}):
        load_preset(preset, settings.user_presets_dir)  # unknown: refused before anything is planned
    added, refused = plans.add(channel, lines, now)
    for row in added:
        print(f"added: {plan_line(row, channels)}")
    for line in refused:
        print(f"refused: {line}")
    print(f"{len(added)} added, {len(refused)} refused as repeats")
    return 1 if refused else 0


def _number(text: str) -> int:
    try:
        return int(text.lstrip("#"))
    except ValueError:
        raise InputError(f"'{text}' is not a planned video's number (plan list shows them)") from None


def _only_channel(channels: ChannelBook) -> str:
    """The one channel, where there is only one; else ask for --channel."""
    names = [c.name for c in channels.all()]
    if len(names) != 1:
        raise InputError(f"say which channel: --channel NAME ({', '.join(names) or 'none yet; youtube auth --channel adds one'})")
    return names[0]


def add_plan_commands(commands: argparse._SubParsersAction) -> None:
    """`channels` and `plan add|list|remove|import|schedule`."""
    channels = commands.add_parser("channels", help="the YouTube channels, their calendars and authorisations")
    channels.add_argument("--monetised", metavar="NAME", help="mark a channel monetised: " + MONETISED_MEANS)
    channels.add_argument("--not-monetised", metavar="NAME", help="take that mark off a channel")
    channels.set_defaults(handler=_cmd_channels)
    plan = commands.add_parser("plan", help="a channel's backlog of topics and its publishing calendar")
    actions = plan.add_subparsers(dest="action", required=True, metavar="{add,list,remove,import,schedule}")
    shapes = {"add": ("topics to add", "+"), "list": (None, None), "remove": ("planned videos' numbers", "+"),
              "import": ("a file: a topic per line, or CSV with topic, preset, length, publish_at", 1),
              "schedule": ("DAYS HH:MM ZONE, e.g. mon,wed,fri 18:00 Europe/Berlin", 3)}
    for name, (what, count) in shapes.items():
        action = actions.add_parser(name, help=what or "the planned videos")
        if what:
            action.add_argument("items", nargs=count, help=what)
        else:
            action.set_defaults(items=[])
        action.add_argument("--channel", help="the channel (not needed when there is only one)")
        action.set_defaults(handler=_cmd_plan, preset=None, length=None, chat=None, auto=None, approval_hours=None)
        if name in ("add", "schedule"):
            action.add_argument("--preset", help="the topics' preset" if name == "add" else "the channel's preset")
        if name == "add":
            action.add_argument("--length", choices=("short", "medium", "long"), help="the topics' length")
        if name == "schedule":
            action.add_argument("--chat", type=int, help="the Telegram chat that approves the channel's videos")
            action.add_argument("--auto", action=argparse.BooleanOptionalAction, default=None,
                                help="publish a video still unapproved at its deadline (default: hold it)")
            action.add_argument("--approval-hours", type=float,
                                help="how long before its deadline a video is wanted (default 12)")
