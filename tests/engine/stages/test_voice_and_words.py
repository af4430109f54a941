"""The real voice and recogniser: Piper's bundled voice and faster-whisper's bundled tiny.en."""


import numpy as np
import pytest

from engine.cache import Cache
from engine.media import read_wav
from engine.models import Scene, Script
from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS, narrate
from engine.stages.words import FasterWhisperASR, align_to_script, recognise

TEXT = "The siege of Leningrad lasted 872 days. Hunger took more lives than the bombs did."


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voice")
    script = Script("t", "t", "en", (Scene(0, TEXT, "p", "calm"), Scene(1, "Then spring came.", "p", "uplifting")), "own-text")
    items = []
    narration = narrate(script, PiperTTS(VoiceStyle()), Cache(folder / "cache"), folder / "narration.wav", items.append)
    return script, narration, items, folder


def test_piper_narration_has_every_written_word_timed(spoken):
    script, narration, items, _ = spoken
    assert items == [False, False]
    assert narration.words is not None
    assert [w.text for w in narration.words] == TEXT.split() + ["Then", "spring", "came."]
    samples, rate = read_wav(narration.audio)
    assert rate == 22050 and abs(len(samples) / rate - narration.duration) < 1e-6
    assert all(a.end <= b.start + 1e-9 for a, b in zip(narration.words, narration.words[1:]))
    # Each word's span holds sound; the scene gap between the two scenes is silent.
    for word in narration.words:
        chunk = samples[int(word.start * rate) : int(word.end * rate)]
        assert np.abs(chunk).max() > 0.05, word
    gap = samples[int(narration.words[14].end * rate) + 800 : int(narration.words[15].start * rate) - 800]
    assert np.abs(gap).max() < 0.02


def test_narration_chunks_come_from_the_cache_the_second_time(spoken):
    script, _, _, folder = spoken
    items = []
    narrate(script, PiperTTS(VoiceStyle()), Cache(folder / "cache"), folder / "again.wav", items.append)
    assert items == [True, True]


def test_whisper_words_align_to_the_script_spelling(spoken):
    script, narration, _, folder = spoken
    heard = recognise(narration.audio, "en", FasterWhisperASR(), Cache(folder / "cache"))
    assert len(heard) >= 12
    aligned = align_to_script(script, heard, narration.duration)
    assert [w.text for w in aligned] == [w.text for w in narration.words]  # "872" spelled as written
    starts = np.array([w.start for w in aligned])
    reference = np.array([w.start for w in narration.words])
    assert np.median(np.abs(starts - reference)) < 0.25  # Whisper agrees with Piper's own timing
    assert all(a.start <= b.start for a, b in zip(aligned, aligned[1:]))
