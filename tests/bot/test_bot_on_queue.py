"""The bot on a real queue: it only enqueues; a worker process makes the videos; progress and videos reach the chats."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bot.app import build_application
from engine.config import load_settings
from engine.jobs import JobState
from tests.bot.fake_telegram import TOKEN, FakeTelegram, message_update, tap_update
from tests.bot.talk import all_told, feed, jobs_of, until
from tests.conftest import isolated_env, start_worker

QUICK = 'name = "quick"\ndescription = "Science, short, master only"\nextends = "science"\nlength = "short"\n' \
        'exports = ["youtube"]\n'
FIRST, SECOND = 1001, 1002


def test_two_chats_get_their_videos_from_a_worker_with_progress_on_the_way(redis_url: str, tmp_path: Path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "quick.toml").write_text(QUICK)
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", presets_dir=presets,
                             telegram_token=TOKEN, telegram_allowed=f"{FIRST},{SECOND}", broker_url=redis_url)
    env = isolated_env(tmp_path) | {"VF_BROKER_URL": redis_url, "VF_PRESETS_DIR": str(presets)}
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await app.post_init(app)  # as run_polling does: the runner starts following the queue
        await feed(app, message_update(1, FIRST, "Lighthouses"), tap_update(2, FIRST, "preset:quick"),
                   message_update(3, SECOND, "Tides"), tap_update(4, SECOND, "preset:quick"),
                   tap_update(5, FIRST, "go:-"), tap_update(6, SECOND, "go:-"))
        assert all(job.state == JobState.QUEUED for job in jobs_of(app))  # the bot only enqueued
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            await until(lambda: len(jobs_of(app)) == 2 and all_told(app)
                        and all(job.state == JobState.DONE for job in jobs_of(app)), 400)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
        await app.shutdown()

    asyncio.run(conversation())
    videos = [call.params["chat_id"] for call in fake.calls if call.method == "sendVideo"]
    assert sorted(videos) == [FIRST, SECOND]  # each chat its video, once
    edits = [call.params.get("text", "") for call in fake.calls if call.method == "editMessageText"]
    assert any("render" in text or "voice" in text for text in edits)  # the worker's progress reached the chats
    assert sum(call.method == "sendMediaGroup" for call in fake.calls) == 2  # the thumbnails, once per chat
