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
from tests.bot.fake_telegram import document_update, message_update, tap_update
from tests.conftest import isolated_env

OWNER = 2002
TOKEN = "654321:ZYXwvuTSRqpoNMLkjiHGFedcba987654321"
SCRIPT = ("Northern Lights\n\nCharged particles from the sun meet the air high above the poles.\n\n"
          "The air glows green and red, and the sky seems to move.\n")


def _stop(bot: subprocess.Popen, api: BotAPIServer) -> str:
    """Interrupt the bot as Ctrl-C would, stop the fake API; what the bot printed."""
    bot.send_signal(signal.SIGINT)
    try:
        output, _ = bot.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        bot.kill()
        output, _ = bot.communicate()
    api.stop()
    return output


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
        api.uploads["script"] = SCRIPT.encode()


        def wait_for(text: str, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while not any(text in r.fields.get("text", "") for r in api.received):
                assert time.monotonic() < deadline and bot.poll() is None, api.methods()
                assert not any("⚠️" in r.fields.get("text", "") for r in api.received), api.received
                time.sleep(0.2)

        # One at a time, as a person taps: the bot handles updates concurrently.
        api.updates.append(document_update(1, OWNER, "script", "lights.txt", "text/plain", len(SCRIPT)))
        wait_for("which channel preset?", 60)
        api.updates.append(tap_update(2, OWNER, "preset:quick"))
        wait_for("using your script", 60)
        api.updates.append(tap_update(3, OWNER, "go:-"))
        deadline = time.monotonic() + 420
        while "sendVideo" not in api.methods() and time.monotonic() < deadline and bot.poll() is None:
            time.sleep(0.2)
        assert "sendVideo" in api.methods(), api.methods()
    finally:
        output = _stop(bot, api)
    upload = next(r for r in api.received if r.method == "sendVideo")
    with av.open(io.BytesIO(upload.files["video"])) as container:  # the uploaded bytes are a real MP4
        video = container.streams.video[0]
        assert video.codec_context.name == "h264" and video.codec_context.width == 1920
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration / 1e6 > 5
    assert upload.fields["supports_streaming"] == "true"
    album = next(r for r in api.received if r.method == "sendMediaGroup")
    assert len(album.files) == 3
    assert "download" in api.methods()  # the script came through getFile and the file URL
    assert any("Script received" in r.fields.get("text", "") for r in api.received)
    assert "Application started" in output  # verbose logging was on...
    assert TOKEN not in output and TOKEN.split(":")[1] not in output  # ...and the token is never in it


def test_the_bot_process_takes_updates_by_webhook_with_its_secret(tmp_path: Path):
    import json
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe_socket:  # a free port for the bot's webhook server
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    api = BotAPIServer()
    url = api.start()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    env = isolated_env(tmp_path) | {
        "VF_TELEGRAM_TOKEN": TOKEN, "VF_TELEGRAM_BASE_URL": url, "VF_TELEGRAM_ALLOWED": str(OWNER),
        "VF_TELEGRAM_WEBHOOK_URL": hook, "VF_TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "VF_TELEGRAM_WEBHOOK_PORT": str(port), "VF_TELEGRAM_WEBHOOK_SECRET": "s3cret-Value",
    }
    bot = subprocess.Popen([sys.executable, "-m", "engine.cli", "-v", "bot"], env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def post(update: dict, secret: str) -> int:
        request = urllib.request.Request(hook, data=json.dumps(update).encode(), method="POST", headers={
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        deadline = time.monotonic() + 60
        while "setWebhook" not in api.methods() and time.monotonic() < deadline and bot.poll() is None:
            time.sleep(0.1)
        registered = next(r for r in api.received if r.method == "setWebhook")
        assert registered.fields["url"] == hook and registered.fields["secret_token"] == "s3cret-Value"
        time.sleep(0.5)  # the webhook server starts listening right after registering
        assert post(message_update(1, OWNER, "/help"), "wrong") == 403  # not from Telegram: refused
        assert post(message_update(2, OWNER, "/start"), "s3cret-Value") == 200
        while "sendMessage" not in api.methods() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        output = _stop(bot, api)
    replies = [r for r in api.received if r.method == "sendMessage"]
    assert len(replies) == 1 and "I turn a topic into a finished video" in replies[0].fields["text"], output
    assert "getUpdates" not in api.methods()
    assert "s3cret-Value" not in output and TOKEN.split(":")[1] not in output
