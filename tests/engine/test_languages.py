"""A Russian job end to end: Cyrillic captions from Piper's own timings, and a Russian voice-over
timed by the bundled multilingual Whisper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysubs2
import pytest

from engine.media import probe
from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS
from engine.text import split_words
from tests.conftest import isolated_env, made_folder, run_cli
from tests.hf_server import serve_voice

TITLE = "Блокада Ленинграда"
BODY = (
    "Блокада длилась почти девятьсот дней. Люди жили без света и тепла, но город не сдался.\n\n"
    "Весной по льду Ладожского озера пошли грузовики с хлебом."
)


@pytest.fixture(scope="module")
def russian(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ru")
    (root / "ru.txt").write_text(f"{TITLE}\n\n{BODY}\n", encoding="utf-8")
    return root


def test_a_russian_script_becomes_a_video_with_cyrillic_captions_read_by_its_native_voice(russian: Path, fake_hf):
    serve_voice(fake_hf, "ru_RU-dmitri-medium")  # the bundled voice's model, under a Russian voice's name and config
    args = ["make", "--script-file", "ru.txt", "--language", "ru", "--captions", "karaoke", "--export", "youtube"]
    result = run_cli(args, isolated_env(russian) | fake_hf.hub_env(), russian)
    assert result.returncode == 0, result.stderr
    assert "through espeak-ng" not in result.stderr  # no English voice reading Russian
    fetched = [c.path for c in fake_hf.calls if c.kind == "file" and c.status == 200]
    assert any(path.endswith("/ru_RU-dmitri-medium.onnx") for path in fetched)
    folder = made_folder(result)
    assert folder == russian / "output" / "ru-1"
    info = probe(folder / "video.mp4")
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (1920, 1080, "h264", "aac")
    srt = pysubs2.load(str(folder / "subtitles.srt"))
    assert " ".join(event.plaintext for event in srt).split() == split_words(BODY)
    ass = pysubs2.load(str(folder / "subtitles.ass"))
    assert len(ass) == len(split_words(BODY))  # karaoke: one event per spoken word
    assert "Ладожского" in ass[len(ass) - 4].text
    manifest = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["language"] == "ru" and manifest["inputs"]["caption_style"] == "karaoke"
    script = json.loads((folder / "script.json").read_text(encoding="utf-8"))
    assert script["title"] == TITLE and script["language"] == "ru"
    assert manifest["inputs"]["voice"] == "ru_RU-dmitri-medium"
    offline = isolated_env(russian) | {"HF_HUB_OFFLINE": "1"}
    again = run_cli(args, offline, russian)  # the voice fetched once now comes from the cache
    assert again.returncode == 0, again.stderr
    assert json.loads((made_folder(again) / "job.json").read_text())["inputs"]["voice"] == "ru_RU-dmitri-medium"
    listed = run_cli(["voices", "--language", "ru"], offline, russian)
    assert "ru_RU-dmitri-medium" in listed.stdout and "CC0" in listed.stdout
    german = run_cli(["make", "--script-file", "ru.txt", "--language", "de"], offline, russian)
    assert german.returncode != 0 and not (russian / "output" / "ru-3").exists()  # stopped before any work
    assert german.stderr.strip().splitlines()[-1] == (
        "error: the voice de_DE-thorsten-medium is not on this machine and the hub cannot be reached "
        "(HF_HUB_OFFLINE or no network): fetch it once with `videofactory voices --fetch de_DE-thorsten-medium`")


def test_a_russian_voiceover_is_timed_to_its_script_by_the_multilingual_model(russian: Path, tmp_path: Path):
    reading = PiperTTS(VoiceStyle(speed=1.1), language="ru", duration_noise=0.8).speak(
        BODY.replace("\n\n", " "), tmp_path / "voiceover.wav"
    )
    result = run_cli(
        ["words", str(tmp_path / "voiceover.wav"), "--script", "ru.txt", "--language", "ru", "--json"],
        isolated_env(russian), russian,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["backend"] == "faster-whisper+warp"
    timed = document["words"]
    assert [w["word"] for w in timed] == split_words(BODY)  # spelled as the script, in Cyrillic
    starts = np.array([w["start"] for w in timed])
    reference = np.array([w.start for w in reading.words])
    assert np.all(np.diff(starts) >= 0)
    assert np.median(np.abs(starts - reference)) < 0.06
    assert (russian / "data" / "models" / "whisper-base" / "model.bin").stat().st_size > 100_000_000
