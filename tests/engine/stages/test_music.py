from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError
from engine.media import read_wav, write_wav
from engine.models import Shot, Timeline
from engine.presets import MusicStyle
from engine.stages.music import (
    MIN_SEGMENT_SECONDS,
    SynthesisedBeds,
    make_source,
    mix_music,
    mood_segments,
    scan_library,
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


def _shots(moods: list[str], seconds: float = 5.0) -> tuple[Shot, ...]:
    return tuple(Shot(i, i, i * seconds, (i + 1) * seconds, "p", "zoom_in", m) for i, m in enumerate(moods))


def test_a_short_mood_joins_its_shorter_neighbour_and_the_longest_mood_wins():
    segments = mood_segments(Timeline(40.0, (), _shots(["tense"] * 3 + ["calm"] + ["dramatic"] * 4)), 12.0)
    assert [(s.start, s.end, s.mood) for s in segments] == [(0.0, 20.0, "tense"), (20.0, 40.0, "dramatic")]


def test_segments_switch_only_at_scene_cuts():
    shots = (Shot(0, 0, 0.0, 7.0, "p", "zoom_in", "calm"), Shot(1, 0, 7.0, 14.0, "p", "pan_left", "calm"),
             Shot(2, 1, 14.0, 30.0, "p", "zoom_in", "dramatic"))
    segments = mood_segments(Timeline(30.0, (), shots), 10.0)
    assert [s.start for s in segments] == [0.0, 14.0]  # the second scene's cut, not inside the first scene


def _tone(path: Path, seconds: float, frequency: float) -> None:
    t = np.arange(int(seconds * 22050)) / 22050
    write_wav(path, (0.4 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), 22050)


def test_the_music_library_picks_by_mood_folder_and_sidecar_tags(tmp_path: Path):
    (tmp_path / "tense").mkdir()
    _tone(tmp_path / "tense" / "pulse.wav", 3.0, 220)
    _tone(tmp_path / "drone.wav", 3.0, 330)
    (tmp_path / "drone.wav.toml").write_text('mood = "tense"\ntags = ["dark", "drone"]\n')
    _tone(tmp_path / "untagged.wav", 1.0, 440)  # no mood: ignored with a warning
    tracks = scan_library(tmp_path)
    assert sorted(t.path.name for t in tracks) == ["drone.wav", "pulse.wav"]
    library = make_source(tmp_path, ("drone",), tmp_path / "work")
    assert library.name == "library" and library.pick("tense", 0).path.name == "drone.wav"
    (tmp_path / "work").mkdir()
    bed = library.bed("tense", 7.5, 22050)
    assert len(bed) == int(7.5 * 22050)  # a 3 s track looped, with crossfades, to fill the segment
    spectrum = np.abs(np.fft.rfft(bed[:22050]))
    assert abs(np.argmax(spectrum) - 330) <= 2  # the drone, not the pulse
    assert np.abs(bed[-22050:]).max() > 0.3  # still sounding at the end
    calm = library.bed("calm", 2.0, 22050)  # no calm track: the synthesised bed fills in
    assert len(calm) == 44100 and np.abs(calm).max() > 0.1


def test_without_a_library_the_beds_are_synthesised(tmp_path: Path):
    assert make_source(tmp_path / "missing", (), tmp_path).name == "synth"


def test_a_broken_sidecar_is_a_clear_error(tmp_path: Path):
    _tone(tmp_path / "a.wav", 1.0, 220)
    (tmp_path / "a.wav.toml").write_text("mood = [")
    with pytest.raises(InputError, match="a.wav.toml: not valid TOML"):
        scan_library(tmp_path)
