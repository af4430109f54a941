"""/plan: a channel's backlog and calendar from the chat; the calendar's news, and Approve / Hold under a made video.

`/plan` lists what the chat's channels have coming; `/plan add TOPIC` (or `/plan add NAME: TOPIC` with
several channels), `/plan remove N`, `/plan schedule mon,wed,fri 18:00 Europe/Berlin [NAME]` (admins:
the channel's videos are then approved in this chat), `/plan ideas [NAME]` asks the language model for
ten topics. The scheduler runs the planner every few minutes and sends what it has to say.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from telegram import Bot, Update

from bot.access import is_admin
from bot.delivery import safely, with_retries
from bot.keyboards import keyboard
from bot.redact import for_chat
from bot.services import FactoryContext, Services, off_loop
from engine.channels import ChannelBook
from engine.errors import InputError, VideoFactoryError
from engine.plan_cli import plan_line
from engine.planner import PlanNotice
from engine.plans import PlanLine, PlanState
from engine.tables import Channel, PlannedVideo

USAGE = ("/plan lists what is coming; /plan add TOPIC (or NAME: TOPIC), /plan remove N, "
         "/plan schedule mon,wed,fri 18:00 Europe/Berlin [NAME], /plan ideas [NAME], /plan accept N")
SHOWN = (PlanState.IDEA, PlanState.BACKLOG, PlanState.MAKING, PlanState.REVIEW, PlanState.APPROVED,
         PlanState.SCHEDULED, PlanState.HELD)


def approval_keyboard(plan_id: int):  # noqa: ANN201 - InlineKeyboardMarkup
    """Approve or hold a made video."""
    return keyboard([[("✅ Approve", f"plan:{plan_id}:ok"), ("⏸ Hold", f"plan:{plan_id}:hold")]])


async def send_notices(bot: Bot, notices: list[PlanNotice]) -> None:
    """The planner's news, each to its channel's chat (a channel without a chat only logs it)."""
    for notice in notices:
        if notice.chat_id is None:
            continue
        markup = approval_keyboard(notice.plan_id) if notice.approve and notice.plan_id else None
        await safely(with_retries(lambda n=notice, m=markup: bot.send_message(n.chat_id, n.text, reply_markup=m)))


async def run_planner(services: Services, bot: Bot) -> None:
    """One tick of the calendar (the scheduler's job every few minutes, and at start)."""
    now = datetime.now(timezone.utc)
    await send_notices(bot, await asyncio.to_thread(services.planner.tick, now))


async def watch_credentials(services: Services, bot: Bot) -> None:
    """Every channel's authorisation checked with Google (the scheduler's daily job, and at start)."""
    now = datetime.now(timezone.utc)
    await send_notices(bot, await asyncio.to_thread(services.planner.watch_credentials, now))


def chosen_channel(channels: list[Channel], mine: list[Channel], name: str | None) -> Channel:
    """The channel a command means: the one named, else the chat's only one, else the only one there is."""
    if name is not None:
        found = [c for c in channels if c.name == name.lower()]
        if not found:
            raise InputError(f"there is no channel '{name}'; channels: {', '.join(c.name for c in channels) or 'none'}")
        return found[0]
    for pool in (mine, channels):
        if len(pool) == 1:
            return pool[0]
    raise InputError("say which channel: " + (", ".join(c.name for c in (mine or channels)) or
                                              "none yet (`videofactory youtube auth --channel NAME` adds one)"))


async def on_plan(update: Update, context: FactoryContext) -> None:
    """/plan and its actions; a clear line for anything wrong."""
    args, chat = list(context.args or []), update.effective_chat.id
    try:
        text = await _act(update, context, args[0].lower() if args else "list", " ".join(args[1:]).strip(), chat)
    except VideoFactoryError as error:
        text = f"⚠️ {for_chat(error)}"
    if text:  # the ideas have sent their own message, with a button each
        await update.effective_message.reply_text(text[:4000])


async def _act(update: Update, context: FactoryContext, action: str, rest: str, chat: int) -> str:
    services = context.services
    book = ChannelBook(services.store)
    channels = await off_loop(book.all)
    mine = [c for c in channels if c.chat_id == chat]
    if action == "list":
        rows = [r for c in (mine or (channels if is_admin(update, context) else [])) for r in
                await off_loop(services.planner.plans.find, c.name, SHOWN)]
        return "\n".join(plan_line(r, book) for r in rows) if rows else f"Nothing planned. {USAGE}"
    if action == "add":
        name, _, topic = rest.partition(":") if ":" in rest.split(" ", 1)[0] else (None, "", rest)
        channel = _owned(chosen_channel(channels, mine, name), chat, update, context)
        added, refused = await off_loop(services.planner.plans.add, channel.name, [PlanLine(topic.strip())])
        return "\n".join([*(f"➕ #{r.id} «{r.topic}» for {channel.name}" for r in added), *(f"⚠️ {r}" for r in refused)])
    if action in ("remove", "accept"):
        row = await off_loop(services.planner.plans.get, _number(rest))
        if row is None or row.channel not in {c.name for c in mine} and not is_admin(update, context):
            raise InputError(f"there is no planned video #{rest} of this chat's channels")
        if action == "remove":
            removed = await off_loop(services.planner.plans.remove, int(row.id))  # type: ignore[arg-type]
            return f"➖ #{removed.id} «{removed.topic}» is out of the plan"
        return accepted_text(await off_loop(services.planner.plans.accept, int(row.id)))  # type: ignore[arg-type]
    if action == "schedule":
        return await _schedule(update, context, book, channels, mine, rest.split(), chat)
    if action == "ideas":
        return await _ideas(context, chosen_channel(channels, mine, rest or None), chat, update)
    return USAGE


async def _schedule(update: Update, context: FactoryContext, book: ChannelBook, channels: list[Channel],
                    mine: list[Channel], words: list[str], chat: int) -> str:
    """/plan schedule DAYS HH:MM ZONE [NAME]: an admin sets a channel's calendar; its approvals come to this chat."""
    if not is_admin(update, context):
        raise InputError("only an admin may set where and when a channel publishes")
    if len(words) not in (3, 4):
        raise InputError("/plan schedule mon,wed,fri 18:00 Europe/Berlin [channel]")
    channel = chosen_channel(channels, mine, words[3] if len(words) == 4 else None)
    done = await off_loop(book.set_calendar, channel.name, tuple(words[:3]), chat_id=chat)
    return (f"🗓 {done.name} publishes {done.days.replace(',', ', ')} at {done.at} {done.timezone}; its videos come "
            f"here for approval {done.approval_hours:g} h before their deadline (an hour before their time).")


async def _ideas(context: FactoryContext, channel: Channel, chat: int, update: Update) -> str:
    """Ten topics from the language model for the channel's niche, kept as ideas to accept with /plan add."""
    _owned(channel, chat, update, context)
    ideas = await off_loop(context.services.planner.ideas, channel.name)
    if not ideas:
        return "The language model had no new topics for this channel."
    lines = [f"💡 #{row.id} «{row.topic}»" for row in ideas]
    await update.effective_message.reply_text(
        "\n".join([f"Ideas for {channel.name}: tap one to plan it (or /plan accept N):", *lines])[:4000],
        reply_markup=keyboard([[(f"➕ #{row.id}", f"idea:{row.id}")] for row in ideas]))
    return ""


def _owned(channel: Channel, chat: int, update: Update, context: FactoryContext) -> Channel:
    """The channel, if this chat approves its videos (or an admin asks)."""
    if channel.chat_id != chat and not is_admin(update, context):
        raise InputError(f"{channel.name}'s videos are approved in another chat")
    return channel


def _number(text: str) -> int:
    try:
        return int(text.strip().lstrip("#"))
    except ValueError:
        raise InputError(f"'{text}' is not a planned video's number (/plan lists them)") from None


async def _row_of_chat(services: Services, plan_id: int, chat: int) -> PlannedVideo | None:
    """A planned video a button names, if its channel's videos are approved in this chat."""
    row = await off_loop(services.planner.plans.get, plan_id)
    channel = await off_loop(ChannelBook(services.store).get, row.channel) if row else None
    return row if channel is not None and channel.chat_id == chat else None


def accepted_text(row: PlannedVideo) -> str:
    """An idea planned: where it went."""
    return f"➕ #{row.id} «{row.topic}» is in {row.channel}'s backlog"


async def on_plan_button(update: Update, context: FactoryContext) -> None:
    """✅ Approve or ⏸ Hold under a made video: kept, then the planner goes on at once (the upload, if approved)."""
    query, services = update.callback_query, context.services
    _, number, choice = query.data.split(":")
    if await _row_of_chat(services, int(number), update.effective_chat.id) is None:
        await query.answer("That video is not this chat's.")
        return
    now = datetime.now(timezone.utc)
    try:
        await off_loop(services.planner.approve if choice == "ok" else services.planner.hold, int(number), now)
    except VideoFactoryError as error:
        await query.answer(for_chat(error)[:190], show_alert=True)
        return
    await query.answer("Approved" if choice == "ok" else "Held")
    await safely(query.edit_message_reply_markup(None))
    await run_planner(services, context.bot)


async def on_idea_button(update: Update, context: FactoryContext) -> None:
    """"➕ #N" under the ideas: that idea into its channel's backlog."""
    query, services = update.callback_query, context.services
    row = await _row_of_chat(services, int(query.data.split(":")[1]), update.effective_chat.id)
    if row is None:
        await query.answer("That idea is not this chat's.")
        return
    try:
        accepted = await off_loop(services.planner.plans.accept, int(row.id))  # type: ignore[arg-type]
    except VideoFactoryError as error:
        await query.answer(for_chat(error)[:190])
        return
    await query.answer(f"#{accepted.id} planned")
    await safely(with_retries(lambda: context.bot.send_message(update.effective_chat.id, accepted_text(accepted))))
