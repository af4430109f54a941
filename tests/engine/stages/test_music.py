from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError
from engine.media import measure_loudness, read_wav, write_wav
from engine.models import Shot, Timeline
from engine.presets import MusicStyle
from engine.stages.music import (
    MIN_SEGMENT_SECONDS,
    LoopedTrack,
    SynthesisedBeds,
    make_source,
    master_mix,
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
    mix = mix_music(tmp_path / "voice.wav", mood_segments(Timeline(8.0, (), shots)), MusicStyle(), SynthesisedBeds(),
                    tmp_path / "mix.f32")
    mixed = mix.signal().read(0, mix.length)
    assert mix.rate == rate and mixed.shape == (len(voice),)
    music = mixed - read_wav(tmp_path / "voice.wav")[0] * 0.9
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
    bed = library.bed("tense", 7.5, 22050).span(0, 10**9)
    assert len(bed) == int(7.5 * 22050)  # a 3 s track looped, with crossfades, to fill the segment
    spectrum = np.abs(np.fft.rfft(bed[:22050]))
    assert abs(np.argmax(spectrum) - 330) <= 2  # the drone, not the pulse
    assert np.abs(bed[-22050:]).max() > 0.3  # still sounding at the end
    calm = library.bed("calm", 2.0, 22050).span(0, 10**9)  # no calm track: the synthesised bed fills in
    assert len(calm) == 44100 and np.abs(calm).max() > 0.1


def test_without_a_library_the_beds_are_synthesised(tmp_path: Path):
    assert make_source(tmp_path / "missing", (), tmp_path).name == "synth"


def test_a_broken_sidecar_is_a_clear_error(tmp_path: Path):
    _tone(tmp_path / "a.wav", 1.0, 220)
    (tmp_path / "a.wav.toml").write_text("mood = [")
    with pytest.raises(InputError, match="a.wav.toml: not valid TOML"):
        scan_library(tmp_path)


def _looped_whole(samples: np.ndarray, total: int, fade: int) -> np.ndarray:
    """The loop rule written plainly: each repeat's head crossfades over the previous repeat's tail."""
    out = samples[:total].copy()
    while len(out) < total:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        out[-fade:] = out[-fade:] * (1 - ramp) + samples[:fade] * ramp
        out = np.concatenate([out, samples[fade:]])[:total]
    return out / np.abs(out).max() * 0.8


def test_a_looped_track_read_in_spans_is_the_loop_rule(tmp_path: Path):
    rng = np.random.default_rng(2)
    samples = (rng.uniform(-0.5, 0.5, 22050 * 3)).astype(np.float32)
    write_wav(tmp_path / "track.wav", samples, 22050)
    stored, _ = read_wav(tmp_path / "track.wav")
    bed = LoopedTrack.of(tmp_path / "track.wav", int(8.3 * 22050))
    expected = _looped_whole(stored, bed.length, bed.fade)
    pieces = np.concatenate([bed.span(start, min(start + 7001, bed.length)) for start in range(0, bed.length, 7001)])
    assert len(pieces) == bed.length and np.abs(pieces - expected).max() < 1e-5


def test_a_synthesised_bed_is_the_same_read_whole_or_in_spans():
    bed = SynthesisedBeds().bed("uplifting", 20.0, 22050)
    whole = bed.span(0, bed.length)
    pieces = np.concatenate([bed.span(start, start + 9999) for start in range(0, bed.length, 9999)])
    assert np.array_equal(whole, pieces) and 0.5 < np.abs(whole).max() <= 0.8 + 1e-6


def test_mixing_a_block_at_a_time_changes_no_sample(tmp_path: Path, monkeypatch):
    import engine.loudness

    rate = 22050
    t = np.arange(rate * 30) / rate
    voice = (0.4 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 0.3 * t) > 0)).astype(np.float32)
    write_wav(tmp_path / "voice.wav", voice, rate)
    segments = mood_segments(Timeline(30.0, (), _shots(["calm", "calm", "tense", "tense", "dramatic", "dramatic"])), 8.0)
    assert len(segments) == 3  # two crossfades inside the mix
    whole = mix_music(tmp_path / "voice.wav", segments, MusicStyle(), SynthesisedBeds(), tmp_path / "whole.f32")
    monkeypatch.setattr(engine.loudness, "BLOCK", 5003)
    blocks = mix_music(tmp_path / "voice.wav", segments, MusicStyle(), SynthesisedBeds(), tmp_path / "blocks.f32")
    a, b = whole.signal().read(0, whole.length), blocks.signal().read(0, blocks.length)
    assert len(a) == len(b) == len(voice) and np.abs(a - b).max() < 1e-6
    master = master_mix(blocks, MusicStyle(), 1.0, tmp_path / "master.wav")
    measured = measure_loudness(master)
    assert abs(measured.integrated_lufs - MusicStyle().loudness_lufs) <= 0.5
    assert measured.true_peak_db <= MusicStyle().true_peak_db
