"""What users send besides a topic: script files, voice-overs, their defaults; and what the bot refuses."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import build_application
from bot.services import Draft
from engine.jobs import request_of
from engine.media import probe, run_ffmpeg
from tests.bot.fake_telegram import (
    OWNER,
    FakeTelegram,
    document_update,
    message_update,
    tap_update,
    voice_update,
)
from tests.bot.talk import all_told, feed, jobs_of, until


def _talk(settings, fake: FakeTelegram, *updates: dict, after=None) -> Draft:
    """Feed updates through the real application; returns the chat's draft at the end."""
    seen: list[Draft] = []

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, *updates)
        if after is not None:
            await after(app)
        seen.append(app.chat_data[OWNER].draft)
        await app.shutdown()

    asyncio.run(conversation())
    return seen[0]


def _cancelling_the_job(asked: list):  # noqa: ANN202 - an `after` for _talk
    """Cancel the chat's one job once queued (what was asked is all these tests need) and keep its request."""
    async def after(app) -> None:  # noqa: ANN001
        [job] = jobs_of(app, OWNER)
        app.services.runner.cancel(job.id)
        asked.append(request_of(job))
        await until(lambda: all_told(app, OWNER))

    return after


def _texts(fake: FakeTelegram) -> list[str]:
    return [c.params.get("text", "") for c in fake.calls if c.method in ("sendMessage", "editMessageText")]


def test_a_text_document_becomes_the_script_and_its_first_line_the_topic(settings):
    script = "The Colour of the Sea\n\nWater absorbs red light first.\n\nSo the deep sea looks blue.\n"
    fake = FakeTelegram(uploads={"doc1": script.encode()})
    draft = _talk(settings, fake, document_update(1, OWNER, "doc1", "sea.txt", "text/plain", len(script)),
                  tap_update(2, OWNER, "preset:quick"))
    assert draft.topic == "The Colour of the Sea" and draft.script_file.read_text() == script
    assert "download" in fake.methods()  # fetched through getFile and the file URL
    texts = _texts(fake)
    assert any("Script received: 16 words" in t for t in texts)
    assert "using your script" in texts[-1] and "How long?" not in texts[-1]  # the script sets the length


def test_files_that_cannot_be_used_get_a_clear_answer_and_nothing_is_fetched_or_queued(settings, tmp_path: Path):
    fake = FakeTelegram(uploads={"bad": b"\x00\x01binary\x00", "noise": b"this is not audio at all" * 100})
    _talk(
        settings, fake,
        document_update(1, OWNER, "pdf", "report.pdf", "application/pdf", 20_000),
        voice_update(2, OWNER, "long", seconds=61 * 60, size=3_000_000),
        document_update(3, OWNER, "bad", "script.txt", "text/plain", 9),
        voice_update(4, OWNER, "noise", seconds=3, size=2400),
        document_update(5, OWNER, "huge", "book.txt", "text/plain", 5_000_000),
        document_update(6, OWNER, "gone", "notes.txt", "text/plain", 300),  # Telegram fails to serve it
    )
    texts = _texts(fake)
    assert any("report.pdf is not a text file (application/pdf)" in t for t in texts)
    assert any("That recording is 61 minutes long; the limit is 60 minutes." in t for t in texts)
    assert any("script.txt is not a text file" in t for t in texts)  # read, found binary, refused
    assert any("I cannot read that audio" in t for t in texts)
    assert any("book.txt is over 1 MB" in t for t in texts)
    fetched = [c.params["file_id"] for c in fake.calls if c.method == "getFile"]
    assert any("could not fetch that file from Telegram; please send it again" in t for t in texts)
    assert fetched == ["bad", "noise", "gone"]  # the others were refused from what Telegram said about them
    assert "sendVideo" not in fake.methods() and not settings.output_dir.exists()
    assert not any((settings.data_dir / "bot" / "inputs").rglob("*.*"))  # refused files are not kept


def test_a_voice_message_becomes_the_voiceover_and_the_topic_is_asked_for(settings, tmp_path: Path):
    voice = tmp_path / "voice.ogg"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=220:duration=2.5", "-c:a", "libopus", str(voice)], what="voice")
    fake = FakeTelegram(uploads={"v1": voice.read_bytes()})
    draft = _talk(settings, fake, voice_update(1, OWNER, "v1", seconds=3, size=voice.stat().st_size),
                  message_update(2, OWNER, "My trip to Iceland"), tap_update(3, OWNER, "preset:quick"))
    texts = _texts(fake)
    assert any("Voice-over received: 2 s" in t or "Voice-over received: 3 s" in t for t in texts)
    assert any("Now send me the topic" in t for t in texts)
    assert draft.topic == "My trip to Iceland" and draft.voiceover.suffix == ".ogg"
    assert "using your voice-over" in texts[-1]


def test_settings_are_kept_per_chat_and_used_for_the_next_video(settings):
    fake = FakeTelegram()

    asked: list = []
    _talk(
        settings, fake,
        message_update(1, OWNER, "/settings language ru"),
        message_update(2, OWNER, "/settings preset nope"),
        message_update(3, OWNER, "/settings preset quick"),
        tap_update(4, OWNER, "set:captions"),
        tap_update(5, OWNER, "setv:captions:karaoke"),
        message_update(6, OWNER, "/settings language english"),
        message_update(7, OWNER, "Auroras"),  # the default preset: straight to the length
        tap_update(8, OWNER, "go:long"),
        after=_cancelling_the_job(asked),
    )
    [request] = asked
    assert (request.language, request.caption_style, request.preset, request.length) == ("ru", "karaoke", "quick", "long")
    texts = _texts(fake)
    assert "there is no preset 'nope'" in texts[1]
    assert "preset: quick" in texts[2] and "language: ru" in texts[2]
    menu = next(c for c in fake.calls if c.params.get("text") == "Default captions:")
    assert "setv:captions:karaoke" in str(menu.params["reply_markup"])
    assert "captions: karaoke" in texts[4]
    assert "language 'english' is not a two- or three-letter code" in texts[5]
    offer = next(c for c in fake.calls if c.params.get("text", "").startswith("«Auroras» with quick"))
    assert offer.method == "sendMessage" and "go:long" in str(offer.params["reply_markup"])


def test_the_length_step_offers_documentaries_in_chapters_and_queues_their_minutes(settings):
    fake = FakeTelegram()

    asked: list = []
    _talk(settings, fake, message_update(1, OWNER, "/settings preset quick"),
          message_update(2, OWNER, "The Siege of Leningrad"), tap_update(3, OWNER, "go:20m"),
          after=_cancelling_the_job(asked))
    assert asked[0].minutes == 20
    offer = next(c for c in fake.calls if c.params.get("text", "").startswith("«The Siege of Leningrad» with quick"))
    assert all(f"go:{m}m" in str(offer.params["reply_markup"]) for m in (10, 20, 30))
    assert any("20 min in chapters: queued" in text for text in _texts(fake))


def test_settings_voice_offers_the_languages_voices_sends_a_sample_and_the_choice_reaches_the_job(settings, tmp_path):
    fake = FakeTelegram()

    asked: list = []
    _talk(settings, fake, tap_update(1, OWNER, "voices"), tap_update(2, OWNER, "vsample:joe"),
          tap_update(3, OWNER, "setv:voice:joe"), message_update(4, OWNER, "/settings preset quick"),
          message_update(5, OWNER, "Auroras"), tap_update(6, OWNER, "go:short"), after=_cancelling_the_job(asked))
    assert asked[0].voice == "joe"
    menu = next(c for c in fake.calls if c.params.get("text", "").startswith("Default voice for 'en'"))
    assert "setv:voice:joe" in str(menu.params["reply_markup"]) and "vsample:joe" in str(menu.params["reply_markup"])
    [(method, ogg)] = fake.blobs
    (tmp_path / "sample.ogg").write_bytes(ogg)
    media = probe(tmp_path / "sample.ogg")
    assert method == "sendVoice" and media.audio_codec == "opus" and 1.0 < media.duration <= 5.05
    assert any("voice: joe" in text for text in _texts(fake))
