from pathlib import Path

import numpy as np

from engine.media import read_wav, write_wav
from engine.models import Shot, Timeline
from engine.presets import MusicStyle
from engine.stages.music import (
    MIN_SEGMENT_SECONDS,
    SynthesisedBeds,
    mix_music,
    mood_segments,
)


def test_segments_merge_short_moods_and_cover_the_video():
    moods = ["calm", "calm", "tense", "calm", "dramatic", "dramatic", "uplifting"]
    shots = tuple(Shot(i, i, i * 5.0, i * 5.0 + 5.0, "p", "zoom_in", m) for i, m in enumerate(moods))
    segments = mood_segments(Timeline(35.0, (), shots))
    assert segments[0].start == 0.0 and segments[-1].end == 35.0
    assert all(s.end - s.start >= MIN_SEGMENT_SECONDS for s in segments)
    assert all(a.end == b.start for a, b in zip(segments, segments[1:]))


def test_music_ducks_under_the_voice(tmp_path: Path):
    rate = 22050
    voice = np.zeros(rate * 8, np.float32)
    t = np.arange(rate * 3) / rate
    voice[rate * 4 : rate * 7] = 0.5 * np.sin(2 * np.pi * 200 * t)  # speech from 4 s to 7 s
    write_wav(tmp_path / "voice.wav", voice, rate)
    shots = (Shot(0, 0, 0.0, 8.0, "p", "zoom_in", "tense"),)
    mix_music(tmp_path / "voice.wav", mood_segments(Timeline(8.0, (), shots)), MusicStyle(), SynthesisedBeds(), tmp_path / "mix.wav")
    mixed, mixed_rate = read_wav(tmp_path / "mix.wav")
    assert mixed_rate == rate and mixed.shape == (len(voice), 2)
    music = mixed[:, 0] - voice * 0.9
    quiet = np.sqrt(np.mean(music[int(2 * rate) : int(3.5 * rate)] ** 2))
    ducked = np.sqrt(np.mean(music[int(4.5 * rate) : int(6.5 * rate)] ** 2))
    assert quiet > 0.005  # the bed is audible between lines
    assert ducked < quiet / 2  # and at least 6 dB lower under the voice
