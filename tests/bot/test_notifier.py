"""What chats hear of their jobs: a pause when the tokens run out and the video once it goes on; two chats'
videos, each in its own folder and its own chat."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import build_application
from engine.config import load_settings
from engine.jobs import JobState
from engine.media import probe
from tests.bot.fake_telegram import OWNER, TOKEN, FakeTelegram, message_update, tap_update
from tests.bot.talk import all_told, feed, jobs_of, until
from tests.hf_server import FakeHF

HF_TOKEN = "hf_aaaaaaaaaaaaaaaa1111"
QUICK = 'name = "quick"\ndescription = "Science, short, master only"\nextends = "science"\nlength = "short"\n' \
        'exports = ["youtube"]\n'


def _settings(tmp_path: Path, **extra: object):
    presets = tmp_path / "presets"
    presets.mkdir(exist_ok=True)
    (presets / "quick.toml").write_text(QUICK)
    return load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", presets_dir=presets,
                         telegram_token=TOKEN, **extra)


def test_a_job_out_of_tokens_pauses_tells_the_chat_and_finishes_from_the_cache_when_a_token_is_back(
        tmp_path: Path, fake_hf: FakeHF):
    # The only token is rate-limited after its first picture, for 3 s; the pool does not wait: the job pauses.
    fake_hf.plan(HF_TOKEN, "ok", "429:3")
    settings = _settings(tmp_path, telegram_allowed=str(OWNER), hf_tokens=HF_TOKEN, hf_base_url=fake_hf.url,
                         image_backend="flux", script_backend="outline", image_workers=1, hf_max_wait_seconds=0)
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, OWNER, "Tides"), tap_update(2, OWNER, "preset:quick"),
                   tap_update(3, OWNER, "go:-"))
        await until(lambda: jobs_of(app, OWNER)[0].state == JobState.DONE and all_told(app, OWNER))
        await app.shutdown()

    asyncio.run(conversation())
    texts = [c.params.get("text", "") for c in fake.calls]
    paused = next(k for k, t in enumerate(texts) if t.startswith("⏸ «Tides» paused"))
    assert "…1111: rate-limited" in texts[paused] and "goes on by itself at" in texts[paused]
    going_on = next(k for k, t in enumerate(texts) if t.startswith("▶️ «Tides» continues"))
    methods = fake.methods()
    assert paused < going_on < methods.index("sendVideo")
    assert methods.count("sendVideo") == 1 and methods.count("sendMediaGroup") == 1
    answered = [call.body["inputs"] for call in fake_hf.image_calls()]
    assert len(answered) == len(set(answered)) >= 2  # no picture made twice: the first came from the cache
    assert fake_hf.image_calls(status=429)
    assert all(HF_TOKEN not in str(c.params) for c in fake.calls)


def test_two_chats_whose_topics_once_shared_a_folder_each_get_their_own_video(tmp_path: Path):
    leningrad, moscow = 1001, 1002
    settings = _settings(tmp_path, telegram_allowed=f"{leningrad},{moscow}")
    fake = FakeTelegram()

    async def two_chats() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, leningrad, "Блокада Ленинграда 1941"), tap_update(2, leningrad, "preset:quick"),
                   message_update(3, moscow, "Битва за Москву (1941)"), tap_update(4, moscow, "preset:quick"),
                   tap_update(5, leningrad, "go:-"), tap_update(6, moscow, "go:-"))
        await until(lambda: len(jobs_of(app)) == 2 and all_told(app) and jobs_of(app)[1].state == JobState.DONE)
        await app.shutdown()

    asyncio.run(two_chats())
    folders = sorted(path.name for path in settings.output_dir.iterdir())
    assert folders == ["bitva-za-moskvu-1941-2", "blokada-leningrada-1941-1"]
    videos = {c.params["chat_id"]: c for c in fake.calls if c.method == "sendVideo"}
    assert set(videos) == {leningrad, moscow}
    sizes = {chat: (settings.output_dir / folder / "video.mp4").stat().st_size
             for chat, folder in ((leningrad, "blokada-leningrada-1941-1"), (moscow, "bitva-za-moskvu-1941-2"))}
    assert sizes[leningrad] != sizes[moscow]  # two different videos…
    assert {chat: call.files["video"] for chat, call in videos.items()} == sizes  # …each whole, in its own chat
    assert all(probe(settings.output_dir / folder / "video.mp4").duration > 3 for folder in folders)
