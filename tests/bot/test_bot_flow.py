"""The whole conversation through python-telegram-bot's real stack, with a fake Bot API behind it."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot import abtests
from bot.app import build_application
from engine.jobs import JobState
from engine.media import probe
from engine.models import JobRequest
from engine.presets import load_preset
from engine.store import Store
from engine.tables import Job
from engine.youtube import YouTube
from tests.bot.fake_telegram import OWNER, TOKEN, FakeTelegram, message_update, tap_update
from tests.bot.talk import all_told, feed, jobs_of, until
from tests.youtube_http import YouTubeHttp

STRANGER = 666


def test_topic_preset_progress_album_and_video_then_published_and_ab_tested(settings):
    fake = FakeTelegram(flood={"sendVideo": 1})  # Telegram's flood control answers the first upload
    youtube_http = YouTubeHttp(views=40)
    made: list[Job] = []

    async def conversation() -> None:
        app = build_application(settings, request=fake, youtube=lambda: YouTube.connect(settings, http=youtube_http))
        await app.initialize()
        await feed(app, message_update(1, OWNER, "/start"))
        assert "topic" in fake.calls[-1].params["text"]
        await feed(app, message_update(2, OWNER, "Why the sky is blue"))
        keyboard = fake.calls[-1].params["reply_markup"]
        assert "quick" in str(keyboard) and "preset:quick" in str(keyboard)
        await feed(app, tap_update(3, OWNER, "preset:quick"))
        options = fake.calls[-1].params
        assert "How long?" in options["text"] and "go:short" in str(options["reply_markup"])
        await feed(app, tap_update(4, OWNER, "go:short"))
        await until(lambda: jobs_of(app, OWNER)[0].state == JobState.DONE and all_told(app, OWNER))
        job = jobs_of(app, OWNER)[0]
        made.append(job)
        buttons = next(c for c in fake.calls if "Which thumbnail" in c.params.get("text", ""))
        assert f"thumb:{job.id}:2" in str(buttons.params["reply_markup"]) and f"regen:{job.id}" in str(buttons.params)
        await feed(app, tap_update(5, OWNER, f"thumb:{job.id}:2"))
        assert f"pub:{job.id}:public" in str(fake.calls[-1].params["reply_markup"])
        await feed(app, tap_update(6, OWNER, f"pub:{job.id}:public"))
        youtube_http.views = 400
        await abtests.check_tests(app.services, app.bot, datetime.now(timezone.utc) + timedelta(hours=25))
        await feed(app, message_update(7, OWNER, "/abtest pick 1 2"))
        await feed(app, tap_update(8, OWNER, f"regen:{job.id}"))
        await app.shutdown()

    asyncio.run(conversation())
    methods = fake.methods()
    edits = [c.params["text"] for c in fake.calls if c.method == "editMessageText"]
    assert any("queued" in text for text in edits)
    assert any("⏳" in text and "%" in text for text in edits)  # progress, edited in place
    assert any("✅ done" in text for text in edits)
    album = next(c for c in fake.calls if c.method == "sendMediaGroup")
    assert len(album.params["media"]) == 3 and sum(album.files.values()) > 30_000
    video = next(c for c in fake.calls if c.method == "sendVideo")
    assert video.params["supports_streaming"] is True and video.params["width"] == 1920
    assert video.files.get("video", 0) > 100_000
    attached = video.params["thumbnail"].removeprefix("attach://")  # the Bot API's way to upload a cover
    assert 5_000 < video.files.get(attached, 0) <= 200_000  # a JPEG of at most 320 px and 200 kB
    assert methods.index("sendMediaGroup") < methods.index("sendVideo")
    assert methods.count("sendVideo") == 2  # refused once with retry_after, sent again after waiting
    assert any("Thumbnail 2 is the one" in c.params.get("text", "") for c in fake.calls)
    folder = Path(made[0].folder)
    assert folder == settings.output_dir / f"why-the-sky-is-blue-{made[0].id}"
    assert probe(folder / "video.mp4").duration > 5
    assert (folder / "thumbnail.jpg").stat().st_size > 10_000  # the approved one, kept for publishing
    assert methods.count("sendMediaGroup") == 2  # the new designs came as a second album
    assert "New designs" in str(fake.calls[-1].params.get("reply_markup"))
    assert all(TOKEN not in str(c.params) for c in fake.calls)
    # Published through google-api-python-client: resumable upload, captions, the approved thumbnail; the
    # A/B test reads the reach reports and, picked by hand, puts thumbnail 2 up.
    routes = youtube_http.routes()
    assert routes[:2] == ["upload", "chunk"] and routes.index("captions") < routes.index("thumbnail")
    uploaded = sum(size for method, uri, size in youtube_http.sent if "upload.test/session" in uri)
    assert uploaded == (folder / "video.mp4").stat().st_size
    texts = [c.params.get("text", "") for c in fake.calls]
    assert any("✅ On YouTube (public): https://youtu.be/yt-video-1 with captions" in t for t in texts)
    started = next(t for t in texts if "A/B test #1 started" in t)
    assert "no reach figures yet (taking 1,000 impressions a day), a 21-day test finds a 25% better one" in started
    assert any("24-hour report: A/B test #1" in t for t in texts)
    assert any("thumbnail 2 is now the video's thumbnail (chosen by hand)" in t for t in texts)
    assert "reporting" in routes and routes[-1] == "thumbnail"
    assert json.loads((folder / "job.json").read_text())["youtube"]["video_id"] == "yt-video-1"


def test_a_stranger_is_refused_politely_and_nothing_runs(settings):
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, STRANGER, "The Siege of Leningrad"), tap_update(2, STRANGER, "preset:quick"),
                   tap_update(3, STRANGER, "go:-"), tap_update(4, STRANGER, "thumb:1:2"), message_update(5, STRANGER, "/jobs"))
        assert jobs_of(app) == []
        await app.shutdown()

    asyncio.run(conversation())
    texts = [c.params.get("text", "") for c in fake.calls]
    assert any("Sorry, this bot is private" in t and str(STRANGER) in t for t in texts)
    answers = [c.params.get("text") for c in fake.calls if c.method == "answerCallbackQuery"]
    assert answers == ["This bot is private."] * 3  # every button, answered and refused before any handler
    assert len([t for t in texts if "Sorry, this bot is private" in t]) == 2
    assert "sendVideo" not in fake.methods() and not (settings.output_dir).exists()


def test_an_overlong_topic_gets_a_clear_answer(settings):
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, OWNER, "x" * 600))
        await app.shutdown()

    asyncio.run(conversation())
    assert "600 characters long; the limit is 500" in fake.calls[-1].params["text"]
    assert "reply_markup" not in fake.calls[-1].params


def _dead_worker() -> str:
    """"host:pid" of a process of this machine that has ended, as a killed bot leaves on its running job."""
    process = subprocess.Popen(["true"])
    process.wait()  # reaped: its number names no process now
    return f"{socket.gethostname()}:{process.pid}"


def test_a_job_in_flight_when_the_bot_stopped_is_finished_after_a_restart(settings):
    # What a bot killed mid-render leaves behind: a running job in the database, whose thumbnails
    # had already reached the chat.
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.resolved_database_url)
    preset = load_preset("quick", settings.user_presets_dir)
    request = JobRequest(topic="Tides", preset="quick", length="short", language="en", exports=("youtube",))
    store.add(Job(state="running", origin="telegram", chat_id=OWNER, message_id=55, topic="Tides", preset="quick",
                  slug="tides", folder=str(settings.output_dir / "tides-1"), request_json=request.model_dump_json(),
                  preset_json=preset.model_dump_json(), attempts=1, worker=_dead_worker(), delivered=["thumbnails"]))
    fake = FakeTelegram()

    async def restart() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await app.post_init(app)  # what run_polling calls on start
        check = app.services.schedule.scheduler.get_job("abtests")  # the A/B tests are looked at from the start on
        assert check is not None and check.trigger.interval.total_seconds() == settings.abtest_check_minutes * 60
        await until(lambda: jobs_of(app, OWNER)[0].state == JobState.DONE and all_told(app, OWNER))
        await app.post_shutdown(app)
        await feed(app, message_update(9, OWNER, "/jobs"))
        await app.shutdown()

    asyncio.run(restart())
    texts = [c.params.get("text", "") for c in fake.calls]
    assert any("The bot restarted; «Tides» continues" in t for t in texts)
    assert "sendVideo" in fake.methods()
    assert "sendMediaGroup" not in fake.methods()  # not sent twice
    assert "#1 Tides: done" in texts[-1]
    assert (settings.output_dir / "tides-1" / "video.mp4").is_file()


def test_cancel_stops_the_job_and_status_tells_what_runs(settings):
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, OWNER, "/status"))
        assert "Nothing is running" in fake.calls[-1].params["text"]
        await feed(app, message_update(2, OWNER, "Volcanoes"), tap_update(3, OWNER, "preset:quick"),
                   tap_update(30, OWNER, "go:-"))
        await until(lambda: jobs_of(app, OWNER)[0].stage)
        await feed(app, message_update(4, OWNER, "/status"))
        assert "Working on it: «Volcanoes»" in fake.calls[-1].params["text"]
        await feed(app, message_update(5, OWNER, "/cancel"))
        await until(lambda: all_told(app, OWNER))
        assert jobs_of(app, OWNER)[0].state == JobState.CANCELLED
        await app.shutdown()

    asyncio.run(conversation())
    texts = [c.params.get("text", "") for c in fake.calls]
    assert any("Stopping 1 job(s)" in t for t in texts)
    assert any("Cancelled; what was finished is kept" in t for t in texts)
    assert "sendVideo" not in fake.methods()
