"""The kokoro voice through kokoro-onnx's own interface, its files fetched from a local hub, with a stand-in model."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InputError
from engine.media import read_wav
from engine.presets import VoiceStyle
from engine.stages.kokoro_voice import MODEL_FILE, REPO, KokoroTTS
from tests.hf_server import FakeHF
from tests.kokoro_standin import SAMPLES_PER_TOKEN, write_model, write_voice

pytest.importorskip("kokoro_onnx")


@pytest.fixture
def kokoro_hub(fake_hf: FakeHF, tmp_path: Path) -> FakeHF:
    fake_hf.repo_files[f"{REPO}/{MODEL_FILE}"] = write_model(tmp_path / "model.onnx").read_bytes()
    fake_hf.repo_files[f"{REPO}/voices/am_adam.bin"] = write_voice(tmp_path / "am_adam.bin").read_bytes()
    return fake_hf


def test_the_kokoro_voice_is_fetched_on_first_use_and_reads_at_its_speed(kokoro_hub: FakeHF, tmp_path: Path):
    cache = tmp_path / "voices"
    slow = KokoroTTS(VoiceStyle(backend="kokoro", kokoro="am_adam"), "en", cache).speak(
        "The first convoy crossed the frozen lake.", tmp_path / "slow.wav")
    fast = KokoroTTS(VoiceStyle(backend="kokoro", kokoro="am_adam", speed=2.0), "en", cache).speak(
        "The first convoy crossed the frozen lake.", tmp_path / "fast.wav")
    samples, rate = read_wav(slow.audio)
    assert rate == 24000 and slow.words is None  # no word times: the words stage finds them
    assert len(samples) > 20 * SAMPLES_PER_TOKEN and abs(samples).max() > 0.1  # the phonemes reached the model
    assert abs(fast.duration * 2 - slow.duration) < 0.6  # kokoro-onnx passed the speed to the model
    downloads = [c.path for c in kokoro_hub.calls if c.kind == "file" and c.body["method"] == "GET"]
    assert [p.rsplit("/", 1)[1] for p in downloads] == ["model.onnx", "am_adam.bin"]  # once each, then the cache


def test_the_kokoro_voice_speaks_english_and_names_its_voices(tmp_path: Path):
    with pytest.raises(InputError, match="speaks English here"):
        KokoroTTS(VoiceStyle(backend="kokoro"), "ru", tmp_path)
    with pytest.raises(InputError, match="not a Kokoro voice"):
        KokoroTTS(VoiceStyle(backend="kokoro", kokoro="dmitri"), "en", tmp_path)
