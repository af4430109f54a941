"""/plan and the calendar through python-telegram-bot's real stack: a real job made ahead, approved in chat,
uploaded with publishAt through google-api-python-client; the bot restarted in between loses nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from bot import plan
from bot.app import build_application
from engine.channels import ChannelBook
from engine.jobs import JobState
from engine.plans import PlanState
from engine.store import open_store
from engine.youtube import YouTube
from tests.bot.fake_telegram import OWNER, FakeTelegram, message_update, tap_update
from tests.bot.talk import all_told, feed, jobs_of, until
from tests.youtube_http import YouTubeHttp


def _texts(fake: FakeTelegram) -> list[str]:
    return [c.params.get("text", "") for c in fake.calls]


def test_a_channel_planned_from_the_chat_is_made_ahead_approved_and_scheduled_across_a_restart(settings):
    settings = settings.model_copy(update={"telegram_admins": str(OWNER)})
    ChannelBook(open_store(settings)).authorised("science", "UC-science", "Science Daily", None, False,
                                                 datetime.now(timezone.utc))
    ChannelBook(open_store(settings)).set_calendar("science", None, preset="quick")
    fake, youtube = FakeTelegram(), YouTubeHttp(video_prefix="sci")
    # Two to three hours from now, whatever the time of day: its video is due to be started at the first tick.
    # (A fixed 09:00 was started at once only when the test ran between 19:00 and 08:00 UTC.)
    hour = (datetime.now(timezone.utc) + timedelta(hours=3)).hour

    def app_of():
        return build_application(settings, request=fake,
                                 channel_youtube=lambda name: YouTube.connect(settings, http=youtube))

    async def before_restart() -> None:
        app = app_of()
        await app.initialize()
        await feed(app, message_update(1, OWNER, f"/plan schedule daily {hour:02d}:00 UTC"),
                   message_update(2, OWNER, "/plan add How tides work"),
                   message_update(3, OWNER, "/plan add how tides WORK"), message_update(4, OWNER, "/plan add"))
        await plan.run_planner(app.services, app.bot)  # the scheduler's tick: the video is started at once
        await until(lambda: jobs_of(app, OWNER) and jobs_of(app, OWNER)[0].state == JobState.DONE and all_told(app, OWNER))
        await app.shutdown()

    async def after_restart() -> None:
        app = app_of()
        await app.initialize()
        await plan.run_planner(app.services, app.bot)  # made while down: asked for approval now
        ask = next(c for c in fake.calls if "Approve it by" in c.params.get("text", ""))
        number = str(ask.params["reply_markup"]).split("plan:")[1].split(":")[0]
        await feed(app, tap_update(5, OWNER, f"plan:{number}:ok"), message_update(6, OWNER, "/plan"))
        await app.shutdown()

    asyncio.run(before_restart())
    asyncio.run(after_restart())
    texts = _texts(fake)
    assert any(t.startswith(f"🗓 science publishes mon, tue, wed, thu, fri, sat, sun at {hour:02d}:00 UTC") for t in texts)
    assert any("➕ #1 «How tides work» for science" in t for t in texts)
    assert any("repeats «How tides work»" in t for t in texts) and any("give a topic" in t for t in texts)
    assert any("🗓 Making #1 «How tides work» for science" in t for t in texts)
    [row] = [r for r in app_rows(settings) if r.topic == "How tides work"]
    assert row.state == PlanState.SCHEDULED and row.video_id == "sci-1"
    [insert] = youtube.inserted
    slot = row.slot.replace(tzinfo=timezone.utc)
    assert (slot.hour, slot.minute) == (hour, 0) and slot > datetime.now(timezone.utc)
    assert insert["status"]["privacyStatus"] == "private"
    assert insert["status"]["publishAt"] == slot.isoformat().replace("+00:00", "Z")
    assert any("✅ #1 «How tides work» is on Science Daily: https://youtu.be/sci-1, private until" in t for t in texts)
    assert "scheduled" in texts[-1] and "How tides work" in texts[-1]  # /plan after the restart


def app_rows(settings):  # noqa: ANN001, ANN201
    from engine.plans import PlanBook

    return PlanBook(open_store(settings)).find("science")


def test_ideas_come_as_buttons_and_a_tap_plans_one(settings, fake_hf):
    from pydantic import SecretStr

    settings = settings.model_copy(update={"hf_tokens": SecretStr("hf_aaaaaaaaaaaaaaaa1111"), "hf_base_url": fake_hf.url})
    book = ChannelBook(open_store(settings))
    book.authorised("science", "UC-science", "Science Daily", None, False, datetime.now(timezone.utc))
    book.set_calendar("science", None, chat_id=OWNER, preset="quick")
    fake_hf.chat_replies.append('{"topics": ["Why the sky is blue", "How volcanoes form"]}')
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, OWNER, "/plan ideas"))
        markup = str(fake.calls[-1].params["reply_markup"])
        first = markup.split("idea:")[1].split("'")[0]
        await feed(app, tap_update(2, OWNER, f"idea:{first}"), tap_update(3, OWNER, f"idea:{first}"))
        await app.shutdown()

    asyncio.run(conversation())
    ideas = next(c for c in fake.calls if "Ideas for science" in c.params.get("text", ""))
    assert "💡 #1 «Why the sky is blue»" in ideas.params["text"] and "idea:2" in str(ideas.params["reply_markup"])
    assert any("➕ #1 «Why the sky is blue» is in science's backlog" in t for t in _texts(fake))
    assert [r.state for r in app_rows(settings)] == [PlanState.BACKLOG, PlanState.IDEA]
    answers = [c.params.get("text") for c in fake.calls if c.method == "answerCallbackQuery"]
    assert answers[-1] == "#1 is not an idea waiting to be accepted"  # a second tap plans nothing twice
