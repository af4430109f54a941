"""Hostile and careless updates through PTB's real stack: other people's buttons, edits, channels, crafted data,
files that do not say their size, things the bot does not take; and nothing of the server reaches a chat."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

from bot.app import build_application
from engine.config import load_settings
from engine.jobs import JobState
from engine.media import run_ffmpeg
from tests.bot.fake_telegram import TOKEN, FakeTelegram, document_update, message_update, tap_update, voice_update
from tests.bot.talk import all_told, feed, jobs_of, until

OWNER, MEMBER, ADMIN, GROUP = 1001, 2002, 9000, -100123


def _settings(tmp_path, **extra):
    presets = tmp_path / "presets"
    presets.mkdir(exist_ok=True)
    (presets / "quick.toml").write_text('name = "quick"\ndescription = "short"\nextends = "science"\nlength = "short"\n'
                                        'exports = ["youtube"]\n')
    return load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", presets_dir=presets,
                         telegram_token=TOKEN, telegram_allowed=f"{OWNER},{GROUP}", telegram_admins=str(ADMIN), **extra)


def _in_group(update: dict, user: int) -> dict:
    """The same update, sent in the group by `user`."""
    body = update.get("message") or update["callback_query"]["message"]
    body["chat"] = {"id": GROUP, "type": "supergroup", "title": "Channel team"}
    sender = {"id": user, "is_bot": False, "first_name": "Member"}
    (update.get("message") or update["callback_query"])["from"] = sender
    return update


def _texts(fake: FakeTelegram) -> list[tuple[object, str]]:
    return [(c.params.get("chat_id"), c.params.get("text", "")) for c in fake.calls if c.method in ("sendMessage", "editMessageText")]


def _answers(fake: FakeTelegram) -> list[str]:
    return [c.params.get("text") for c in fake.calls if c.method == "answerCallbackQuery"]


def _run(settings, fake: FakeTelegram, story) -> None:
    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await story(app)
        await app.shutdown()

    asyncio.run(conversation())


def test_in_a_group_allowed_as_a_whole_members_may_ask_but_only_named_users_act(tmp_path):
    settings, fake = _settings(tmp_path), FakeTelegram()

    async def story(app) -> None:
        await feed(app, _in_group(message_update(1, GROUP, "Tides"), MEMBER))  # asking is fine
        await feed(app, _in_group(tap_update(2, GROUP, "preset:quick"), MEMBER),  # acting is not
                   _in_group(message_update(3, GROUP, "/settings language ru"), MEMBER),
                   _in_group(message_update(4, GROUP, "/cancel 1"), MEMBER))
        await feed(app, _in_group(tap_update(5, GROUP, "preset:quick"), OWNER))  # the owner, by name, may

    _run(settings, fake, story)
    texts = [text for _, text in _texts(fake)]
    assert any("«Tides»: which channel preset?" in t for t in texts)
    assert _answers(fake)[0] == "Only people allowed by name can do that here."
    assert sum("Sorry, this bot is private" in t for t in texts) == 2  # /settings and /cancel, refused
    assert any(t.startswith("«Tides» with quick") for t in texts)  # the owner's tap went through
    assert "language: ru" not in " ".join(texts)


def test_edits_channel_posts_crafted_buttons_and_stray_things_get_no_action(tmp_path):
    settings, fake = _settings(tmp_path), FakeTelegram(uploads={"nosize": b"The Sea\n\nWater is blue.\n"})
    edited = message_update(1, OWNER, "/cancel")
    edited["edited_message"] = edited.pop("message")
    channel = message_update(2, OWNER, "Tides")
    channel["channel_post"] = channel.pop("message")
    del channel["channel_post"]["from"]
    inline = tap_update(3, OWNER, "thumb:1:2")
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "abc"
    unsized = document_update(7, OWNER, "nosize", "sea.txt", "text/plain", 0)
    del unsized["message"]["document"]["file_size"]
    photo = message_update(8, OWNER, "x")
    del photo["message"]["text"], photo["message"]["entities"]
    photo["message"]["photo"] = [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}]
    photo["message"]["caption"] = "The Siege of Leningrad"
    sticker = message_update(9, OWNER, "x")
    del sticker["message"]["text"], sticker["message"]["entities"]
    sticker["message"]["sticker"] = {"file_id": "s", "file_unique_id": "su", "width": 512, "height": 512,
                                     "is_animated": False, "is_video": False, "type": "regular"}

    async def story(app) -> None:
        await feed(app, edited, channel, inline, tap_update(4, OWNER, "setv:language"), tap_update(5, OWNER, "thumb:1:9"),
                   tap_update(6, OWNER, "setv:captions:<script>"), unsized, photo, sticker)

    _run(settings, fake, story)
    assert _answers(fake) == ["This button cannot be used here."] + ["This button is out of date."] * 3
    texts = [text for _, text in _texts(fake)]
    assert not any("Stopping" in t or "Nothing to cancel" in t or "which channel preset" in t for t in texts)
    assert not any("None" in t for t in texts)  # no "your ID (None)" to a channel
    assert any("sea.txt is over 1 MB (or does not say its size)" in t for t in texts)
    assert "getFile" not in fake.methods()  # never fetched blind
    assert sum(t.startswith("I take a topic as a text message") for t in texts) == 2  # the photo and the sticker


def test_a_failed_job_tells_its_chat_without_server_paths_and_the_admin_with_them(tmp_path):
    settings, fake = _settings(tmp_path), FakeTelegram()
    silence = tmp_path / "silence.ogg"
    run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "3", "-c:a", "libopus", str(silence)], what="silence")
    fake.uploads["quiet"] = silence.read_bytes()

    async def story(app) -> None:
        await feed(app, voice_update(1, OWNER, "quiet", seconds=3, size=silence.stat().st_size),
                   message_update(2, OWNER, "A quiet trip"), tap_update(3, OWNER, "preset:quick"), tap_update(4, OWNER, "go:-"))
        await until(lambda: jobs_of(app, OWNER) and jobs_of(app, OWNER)[0].state == JobState.FAILED and all_told(app))

    _run(settings, fake, story)
    said = _texts(fake)
    owner = [text for chat, text in said if chat == OWNER and "could not be made" in text]
    admin = [text for chat, text in said if chat == ADMIN]
    assert owner and "holds no audible speech" in owner[-1] and str(settings.data_dir) not in owner[-1]
    assert admin and str(settings.data_dir) in admin[-1]  # the admin gets the whole story


def test_a_database_held_by_another_process_does_not_stop_the_bot_answering_others(tmp_path):
    settings, fake = _settings(tmp_path), FakeTelegram()

    async def story(app) -> None:
        holder = sqlite3.connect(settings.data_dir / "videofactory.db", isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # another process writing for a while
        threading.Timer(2.0, lambda: holder.execute("ROLLBACK")).start()
        began = time.monotonic()
        await asyncio.gather(feed(app, message_update(1, OWNER, "/settings language ru")),
                             feed(app, message_update(2, GROUP, "/help")))
        assert time.monotonic() - began >= 1.5  # the settings write did wait for the lock…

    _run(settings, fake, story)
    order = [chat for chat, _ in _texts(fake)]
    assert order == [GROUP, OWNER]  # …while the other chat was answered first
    assert "language: ru" in _texts(fake)[-1][1]
