"""Black box: `videofactory bot` as its own process, talking HTTP to a fake Bot API."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import av

from tests.bot.bot_api_server import BotAPIServer
from tests.bot.fake_telegram import message_update, tap_update
from tests.conftest import isolated_env

OWNER = 2002
TOKEN = "654321:ZYXwvuTSRqpoNMLkjiHGFedcba987654321"


def test_the_bot_process_makes_and_uploads_a_playable_video(tmp_path: Path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "quick.toml").write_text(
        'name = "quick"\ndescription = "Science, short"\nextends = "science"\nlength = "short"\nexports = ["youtube"]\n'
    )
    api = BotAPIServer()
    url = api.start()
    env = isolated_env(tmp_path) | {
        "VF_TELEGRAM_TOKEN": TOKEN, "VF_TELEGRAM_BASE_URL": url, "VF_TELEGRAM_ALLOWED": str(OWNER),
        "VF_PRESETS_DIR": str(presets),
    }
    bot = subprocess.Popen([sys.executable, "-m", "engine.cli", "-v", "bot"], env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        api.updates += [message_update(1, OWNER, "Northern lights"), tap_update(2, OWNER, "preset:quick")]
        deadline = time.monotonic() + 420
        while "sendVideo" not in api.methods() and time.monotonic() < deadline and bot.poll() is None:
            time.sleep(0.2)
        assert "sendVideo" in api.methods(), api.methods()
    finally:
        bot.send_signal(signal.SIGINT)
        try:
            output, _ = bot.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()
            output, _ = bot.communicate()
        api.stop()
    upload = next(r for r in api.received if r.method == "sendVideo")
    with av.open(io.BytesIO(upload.files["video"])) as container:  # the uploaded bytes are a real MP4
        video = container.streams.video[0]
        assert video.codec_context.name == "h264" and video.codec_context.width == 1920
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration / 1e6 > 5
    assert upload.fields["supports_streaming"] == "true"
    album = next(r for r in api.received if r.method == "sendMediaGroup")
    assert len(album.files) == 3
    assert "Application started" in output  # verbose logging was on...
    assert TOKEN not in output and TOKEN.split(":")[1] not in output  # ...and the token is never in it
