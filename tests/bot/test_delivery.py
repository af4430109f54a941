"""What the bot does with videos over Telegram's upload limit, their covers, and how it shows progress."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from bot.delivery import COVER_BYTES, COVER_SIDE, cover_for_telegram, fit_for_telegram
from bot.notifier import Throttle, progress_text
from engine.media import probe, run_ffmpeg
from engine.runner import JobProgressed


def test_a_video_over_the_limit_gets_a_smaller_playable_copy(tmp_path: Path):
    big = tmp_path / "video.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=6", "-f", "lavfi", "-i", "sine=d=6",
                "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-c:a", "aac", "-shortest", str(big)],
               what="test video")
    limit = big.stat().st_size // 4
    small = fit_for_telegram(big, limit, tmp_path)
    assert small != big and small.stat().st_size <= limit
    info = probe(small)
    assert info.video_codec == "h264" and info.audio_codec == "aac" and abs(info.duration - 6) < 0.3
    assert fit_for_telegram(small, limit, tmp_path) == small  # small enough: sent as it is
    assert big.is_file()  # the full file stays


def test_over_the_limit_the_chat_gets_a_download_link_to_the_full_file(tmp_path: Path, monkeypatch):
    import asyncio

    from bot.delivery import send_video

    big = tmp_path / "video.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=3", "-c:v", "libx264", "-preset", "ultrafast",
                "-crf", "5", str(big)], what="test video")
    monkeypatch.setattr("bot.delivery.UPLOAD_LIMIT_BYTES", big.stat().st_size // 3)

    class Recorder:
        def __init__(self) -> None:
            self.texts: list[str] = []
            self.videos = 0

        async def send_message(self, chat, text, **kwargs):
            self.texts.append(text)

        async def send_video(self, chat, video, **kwargs):
            self.videos += 1

    bot = Recorder()
    link = "https://factory.example.com/download/abc"
    asyncio.run(send_video(bot, 1, big, None, False, tmp_path / "copies", "video.mp4", link))  # type: ignore[arg-type]
    assert bot.videos == 1 and bot.texts == [
        f"video.mp4 is over Telegram's 50 MB: here is a smaller copy; download the full file here: {link}."]


def test_the_cover_is_a_jpeg_the_bot_api_takes(tmp_path: Path):
    thumbnail = tmp_path / "1.jpg"
    noise = Image.effect_noise((1280, 720), 120).convert("RGB")  # noise: the hardest picture to compress
    noise.save(thumbnail, "JPEG", quality=98)
    assert thumbnail.stat().st_size > COVER_BYTES
    cover = cover_for_telegram(thumbnail)
    with Image.open(io.BytesIO(cover)) as image:
        assert image.format == "JPEG" and max(image.size) <= COVER_SIDE and image.size == (320, 180)
    assert len(cover) <= COVER_BYTES


def test_progress_shows_stage_share_and_time_left():
    text = progress_text(JobProgressed(7, "render", 5, 10, "segment", elapsed=42, eta=12.4))
    assert text == "⏳ render: 5/10 segment (50%), about 12 s left in this step; 42 s so far"
    assert "left" not in progress_text(JobProgressed(7, "render", 0, 10, "segment", elapsed=1, eta=None))


def test_progress_is_not_shown_too_often_even_just_after_boot(monkeypatch: pytest.MonkeyPatch):
    clock = [20.0]  # a machine booted 20 s ago: monotonic time is small, and the first message still goes
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    throttle = Throttle(every=3600)
    assert throttle.due(7)
    clock[0] += 10
    assert not throttle.due(7)  # inside the window
    assert throttle.due(8)  # another job has its own window
    clock[0] += 3600
    assert throttle.due(7)


def test_an_album_whose_answer_times_out_is_not_posted_again_and_its_buttons_still_come(tmp_path: Path):
    """M3: a timed-out sendMediaGroup may have reached the chat: retrying it would post the album twice."""
    import asyncio

    from telegram import Bot

    from bot.delivery import MaybeDelivered, send_thumbnails
    from tests.bot.fake_telegram import FakeTelegram

    paths = []
    for k in (1, 2, 3):
        Image.new("RGB", (64, 36), "grey").save(tmp_path / f"{k}.jpg")
        paths.append(tmp_path / f"{k}.jpg")
    fake = FakeTelegram(lost_answers={"sendMediaGroup": 1})

    async def send() -> None:
        bot = Bot("123:abc", request=fake, get_updates_request=fake)
        await bot.initialize()
        with pytest.raises(MaybeDelivered):
            await send_thumbnails(bot, 5, 7, tuple(paths))
        await bot.shutdown()

    asyncio.run(send())
    assert fake.methods().count("sendMediaGroup") == 1
    assert fake.methods()[-1] == "sendMessage" and "reply_markup" in fake.calls[-1].params
