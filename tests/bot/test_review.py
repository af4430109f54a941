"""Review of the pictures from the chat, through python-telegram-bot's real stack and the local archives."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.app import build_application
from engine.jobs import JobState
from engine.review import AWAITING_REVIEW
from tests.bot.fake_telegram import OWNER, FakeTelegram, message_update, tap_update
from tests.bot.talk import all_told, feed, jobs_of, until
from tests.engine.stages.test_sources import LENINGRAD
from tests.picture_servers import PictureServers


def _sheets(fake: FakeTelegram) -> list:
    return [c for c in fake.calls if c.method == "sendPhoto"]


def test_a_chat_that_reviews_gets_a_sheet_replaces_one_shot_and_then_the_video(settings):
    servers = PictureServers(items=list(LENINGRAD))
    servers.start()
    settings = settings.model_copy(update={"image_sources": "commons", "commons_api_url": f"{servers.url}/w/api.php"})
    fake = FakeTelegram()
    seen: dict[str, object] = {}

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, OWNER, "/settings review on"), message_update(2, OWNER, "/settings preset quick"),
                   message_update(3, OWNER, "The ice road over Lake Ladoga in the siege of Leningrad"),
                   tap_update(4, OWNER, "go:short"))
        await until(lambda: jobs_of(app, OWNER)[0].state == JobState.PAUSED and all_told(app, OWNER))
        job = jobs_of(app, OWNER)[0]
        seen["paused"], seen["folder"] = job.error, Path(job.folder)
        first = json.loads((Path(job.folder) / "review.json").read_text())
        seen["first"] = first
        swap = first["replaceable"][0]
        await feed(app, tap_update(5, OWNER, f"review:{job.id}:{swap}"))
        await until(lambda: len(_sheets(fake)) == 2 and all_told(app, OWNER))
        seen["second"] = json.loads((Path(job.folder) / "review.json").read_text())
        await feed(app, tap_update(6, OWNER, f"review:{job.id}:ok"), tap_update(7, OWNER, f"review:{job.id}:ok"))
        await until(lambda: jobs_of(app, OWNER)[0].state == JobState.DONE and all_told(app, OWNER))
        await app.shutdown()

    try:
        asyncio.run(conversation())
    finally:
        servers.stop()
    first, second = seen["first"], seen["second"]
    assert seen["paused"] == AWAITING_REVIEW and first["replaceable"]
    sheet = _sheets(fake)[0]
    assert f"review:{jobs_of_id(fake)}:ok" in str(sheet.params["reply_markup"]) and "🔁" in str(sheet.params["reply_markup"])
    assert "commons:" in sheet.params["caption"] and sum(sheet.files.values()) > 10_000
    swapped = str(first["replaceable"][0])
    assert second["urls"].get(swapped) != first["urls"][swapped]  # its next candidate, or painted
    assert {k: v for k, v in second["urls"].items() if k != swapped} == {
        k: v for k, v in first["urls"].items() if k != swapped}  # no other shot changed
    texts = [c.params.get("text", "") for c in fake.calls]
    assert any("waiting for your review" in t for t in texts) and any("✅ done" in t for t in texts)
    assert any(c.method == "answerCallbackQuery" and c.params.get("text") == "This review is over." for c in fake.calls)
    assert [c.method for c in fake.calls].count("sendVideo") == 1
    assert (seen["folder"] / "video.mp4").is_file()


def jobs_of_id(fake: FakeTelegram) -> int:
    """The job number the first review keyboard names."""
    markup = str(_sheets(fake)[0].params["reply_markup"])
    return int(markup.split("review:")[1].split(":")[0])
