"""Several chats at once: places in the queue told as it moves, admins who see and stop everything."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import build_application
from engine.config import load_settings
from engine.jobs import JobState
from tests.bot.fake_telegram import FakeTelegram, message_update, tap_update
from tests.bot.talk import all_told, feed, jobs_of, until

ALICE, BOB, CAROL, ADMIN = 1001, 1002, 1003, 9000
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"


def test_the_queue_moves_admins_see_and_cancel_any_job_and_hear_of_failures(tmp_path: Path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "quick.toml").write_text('name = "quick"\ndescription = "short"\nextends = "science"\nlength = "short"\n')
    # A preset whose voice file is broken: its job fails when its turn comes (a missing one is refused at once).
    (tmp_path / "doomed-voice.onnx").write_bytes(b"not a model")
    (tmp_path / "doomed-voice.onnx.json").write_text("{}")
    (presets / "doomed.toml").write_text('name = "doomed"\ndescription = "a voice that is broken"\n'
                                         f'extends = "science"\n[voice]\npiper = "{tmp_path / "doomed-voice.onnx"}"\n')
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", presets_dir=presets,
                             telegram_token=TOKEN, telegram_allowed=f"{ALICE},{BOB},{CAROL}",
                             telegram_admins=str(ADMIN))
    fake = FakeTelegram()

    async def day() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, ALICE, "Comets"), tap_update(2, ALICE, "preset:quick"), tap_update(3, ALICE, "go:-"))
        await until(lambda: jobs_of(app, ALICE)[0].state == JobState.RUNNING)
        await feed(app, message_update(4, BOB, "Tides"), tap_update(5, BOB, "preset:quick"), tap_update(6, BOB, "go:-"),
                   message_update(7, CAROL, "Geysers"), tap_update(8, CAROL, "preset:doomed"), tap_update(9, CAROL, "go:-"))
        first, second, _ = (job.id for job in jobs_of(app))
        await feed(app, message_update(10, BOB, f"/cancel {first}"), message_update(11, ADMIN, "/status"))
        await feed(app, message_update(12, ADMIN, f"/cancel {first}"))
        await until(lambda: jobs_of(app, BOB)[0].state == JobState.RUNNING)
        await feed(app, message_update(13, ADMIN, f"/cancel {second}"))
        await until(lambda: all_told(app))
        await app.shutdown()

    asyncio.run(day())
    sent = [(c.params.get("chat_id"), c.params.get("text", "")) for c in fake.calls if "text" in c.params]
    assert (BOB, "There is no job 1 of yours.") in sent
    status = next(text for chat, text in sent if chat == ADMIN and "Every chat" in text)
    assert "chat 1001: Comets (running)" in status and "chat 1003: Geysers (queued)" in status
    carol = [text for chat, text in sent if chat == CAROL]
    assert any("queued, 2 job(s) ahead" in t for t in carol)  # when she asked
    assert any("🕒 queued: 1 job(s) ahead" in t for t in carol)  # told again when the queue moved
    assert any("the video could not be made" in t and "doomed-voice.onnx" in t for t in carol)
    assert any("Job #3 of chat 1003 failed" in t for chat, t in sent if chat == ADMIN)
    assert any("Cancelled; what was finished is kept" in t for chat, t in sent if chat == ALICE)
    assert "sendVideo" not in fake.methods()
