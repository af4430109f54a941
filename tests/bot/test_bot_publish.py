"""Publishing from the chat when YouTube does not do what was asked: the chat hears what YouTube did."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from PIL import Image

from bot.app import build_application
from engine.media import run_ffmpeg
from engine.tables import Job
from engine.youtube import YouTube
from tests.bot.fake_telegram import OWNER, FakeTelegram, tap_update
from tests.bot.talk import feed
from tests.youtube_http import YouTubeHttp


def _finished(folder: Path) -> Path:
    """A finished video's folder, small: a second of video, three thumbnails, the script and the manifest."""
    (folder / "thumbnails").mkdir(parents=True)
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=1", "-f", "lavfi", "-i", "sine=d=1",
                "-c:v", "libx264", "-c:a", "aac", "-shortest", str(folder / "video.mp4")], what="test video")
    for k in (1, 2, 3):
        Image.new("RGB", (1280, 720), "navy").save(folder / "thumbnails" / f"{k}.jpg")
    (folder / "script.json").write_text(json.dumps({"title": "Comets", "language": "en",
                                                    "scenes": [{"narration": "Comets are dirty snowballs."}]}))
    (folder / "job.json").write_text(json.dumps({"inputs": {"preset": "science", "topic": "Comets"}, "files": []}))
    return folder


def test_an_upload_youtube_locks_private_starts_no_test_and_the_chat_is_told_why(settings):
    fake = FakeTelegram()
    youtube_http = YouTubeHttp(privacy="private")  # an unaudited Google Cloud project: uploads are locked private

    async def conversation() -> None:
        app = build_application(settings, request=fake, youtube=lambda: YouTube.connect(settings, http=youtube_http))
        await app.initialize()
        folder = _finished(settings.output_dir / "comets-1")
        job = app.services.store.add(Job(state="done", origin="telegram", chat_id=OWNER, topic="Comets",
                                         preset="quick", slug="comets", folder=str(folder)))
        await feed(app, tap_update(1, OWNER, f"pub:{job.id}:public"))
        assert app.services.tester.tests() == []  # no test on a video nobody can see
        await app.shutdown()

    asyncio.run(conversation())
    texts = [c.params.get("text", "") for c in fake.calls]
    told = next(t for t in texts if "On YouTube" in t)
    assert "✅ On YouTube (private)" in told and "No A/B test" in told and "locked private" in told
