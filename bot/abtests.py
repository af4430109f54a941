"""/abtest in the chat, and the A/B tests' scheduled check that moves every running test on.

The tests live in the database (engine.abtest); the bot's scheduler (bot.schedule) runs `check_tests`
every few minutes from its start on, so whatever fell due while the bot was down happens on start.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from telegram import Bot, Update

from bot.access import is_admin
from bot.delivery import say
from bot.redact import for_chat
from bot.services import FactoryContext, Services, off_loop
from engine import abpower, abreport
from engine.channels import ChannelBook
from engine.errors import InputError, VideoFactoryError

log = logging.getLogger(__name__)

USAGE = "use /abtest, /abtest stop N, or /abtest pick N VARIANT"


async def on_abtest(update: Update, context: FactoryContext) -> None:
    """/abtest lists this chat's tests; /abtest stop N and /abtest pick N V end one."""
    args = context.args or []
    try:
        if args and args[0] in ("stop", "pick"):
            text = await end_test(update, context, args)
        else:
            text = await reports(update, context)
    except VideoFactoryError as error:
        text = f"⚠️ {for_chat(error)}"
    await update.effective_message.reply_text(text[:4000])


async def reports(update: Update, context: FactoryContext) -> str:
    """The latest tests of this chat (every chat's for an admin), each as its report."""
    tester, now = context.services.tester, datetime.now(timezone.utc)
    tests = (await off_loop(tester.tests, None if is_admin(update, context) else update.effective_chat.id))[:5]
    if not tests:
        power = await asyncio.to_thread(tester.power)
        return f"No A/B tests yet: tap 🌍 Public under a finished video.\n{abpower.told(power)}"
    texts = [await asyncio.to_thread(abreport.summary, tester, test, now) for test in tests]
    return "\n\n".join(texts)


async def end_test(update: Update, context: FactoryContext, args: list[str]) -> str:
    """Stop a test with no winner, or pick its winner by hand."""
    if len(args) < (3 if args[0] == "pick" else 2):
        raise InputError(USAGE)
    numbers = [part.lstrip("#") for part in args[1:3]]
    if not all(number.isdigit() for number in numbers):
        raise InputError("Test and thumbnail are numbers: /abtest pick 3 2")
    now = datetime.now(timezone.utc)
    test = await off_loop(context.services.tester.test, int(numbers[0]))
    tester = context.services.testers.of(test.channel)  # it switches thumbnails on the test's own channel
    if test.chat_id != update.effective_chat.id and not is_admin(update, context):
        raise InputError(f"A/B test {test.id} is not yours")
    if test.state != "running":
        raise InputError(f"A/B test {test.id} is already {test.state}")
    if args[0] == "stop":
        notice = await asyncio.to_thread(tester.stop, test, now)
    else:
        notice = await asyncio.to_thread(tester.finish, test, int(numbers[1]), now, "hand")
    return notice.text


async def check_tests(services: Services, bot: Bot, now: datetime | None = None) -> None:
    """Move every running test on (in a thread) and send what it has to say."""
    names = [channel.name for channel in await off_loop(ChannelBook(services.store).all)]
    notices = await asyncio.to_thread(services.testers.tick, names, now or datetime.now(timezone.utc))
    for notice in notices:
        if notice.chat_id is not None:
            await say(bot, notice.chat_id, for_chat(notice.text))
        else:
            log.info("%s", notice.text)
