"""/stats in the chat, and the daily message at the chosen time, across a restart, under a controllable clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.app import build_application
from bot.statistics import send_daily, send_missed
from engine.config import load_settings
from engine.store import Store
from engine.tables import Job, StageRun
from tests.bot.fake_telegram import FakeTelegram, message_update
from tests.bot.talk import feed

OWNER = 1001
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"


def test_stats_text_and_chart_then_a_daily_message_at_the_chosen_time(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", telegram_token=TOKEN,
                             telegram_allowed=str(OWNER), timezone="Europe/Berlin")
    fake = FakeTelegram()

    async def first_day() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        for number, text in enumerate(("/stats", "/stats daily 25:00", "/stats daily 9:30"), 1):
            await feed(app, message_update(number, OWNER, text))
        # A video is made; then the clock moves (09:30 in Berlin is 08:30 UTC in November).
        store = Store(settings.resolved_database_url)
        made = store.add(Job(slug="s", topic="t", preset="science", state="done",
                                   created=datetime.now(timezone.utc) - timedelta(minutes=3),
                                   finished=datetime.now(timezone.utc)))
        store.add(StageRun(job_id=made.id, stage="render", started=made.created, finished=made.finished, outcome="done"))
        services = app.services
        await send_daily(services, app.bot, OWNER, datetime(2026, 11, 24, 8, 29, tzinfo=timezone.utc))  # early: nothing
        assert "sendPhoto" not in fake.methods()
        await send_daily(services, app.bot, OWNER, datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc))
        await send_daily(services, app.bot, OWNER, datetime(2026, 11, 24, 8, 31, tzinfo=timezone.utc))  # once a day
        await app.shutdown()

    async def after_a_restart() -> None:  # down at 09:30 the next day; started again at 11:00 Berlin time
        app = build_application(settings, request=fake)
        await app.initialize()
        await send_missed(app.services, app.bot, datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc))
        await app.shutdown()

    asyncio.run(first_day())
    texts = [c.params.get("text", "") for c in fake.calls if c.method == "sendMessage"]
    assert texts[0].startswith("Nothing yet in the last 7 days")
    assert "Give a time such as /stats daily 09:00" in texts[1]
    assert texts[2] == "Every day at 09:30 (Europe/Berlin) you get the statistics."
    photos = [c for c in fake.calls if c.method == "sendPhoto"]
    assert len(photos) == 1 and photos[0].files.get("photo", 0) > 10_000  # the chart, uploaded
    assert "Last day: 1 video(s) made, science 1" in texts[-1]
    asyncio.run(after_a_restart())
    assert len([c for c in fake.calls if c.method == "sendPhoto"]) == 2  # the missed one, sent on start
