"""Exports: where a short version ends, how pictures are laid out, and a real render of a vertical cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cache import Cache
from engine.errors import InputError
from engine.fonts import bold_font_dir
from engine.media import measure_loudness, probe
from engine.models import Scene, Script, Shot, Timeline, Word
from engine.presets import VoiceStyle, load_preset
from engine.stages import render
from engine.stages.exports import (
    PROFILES, ExportProfile, cut_timeline, parse_exports, recompose, render_export, short_cut,
)
from engine.stages.music import SynthesisedBeds
from engine.stages.voice import PiperTTS, narrate


def _words(text: str, step: float = 0.5) -> tuple[Word, ...]:
    return tuple(Word(w, i * step, i * step + 0.4) for i, w in enumerate(text.split()))


def test_a_short_version_ends_after_the_last_sentence_that_fits():
    words = _words("One two three. Four five six seven. Eight nine ten eleven twelve.")
    end = short_cut(words, 7.0, 4.0)
    assert end == pytest.approx(words[6].end + 0.1)  # "seven." + air up to the next word, not into it
    assert words[6].end <= end <= words[7].start
    assert short_cut(words, 7.0, None) == 7.0 and short_cut(words, 3.0, 4.0) == 3.0


def test_without_a_sentence_that_fits_the_cut_is_still_between_words():
    words = _words("one two three four five six seven eight nine ten.")
    end = short_cut(words, 6.0, 2.2)
    assert any(w.end <= end <= n.start for w, n in zip(words, words[1:]))


def test_the_cut_timeline_trims_the_last_shot_or_merges_a_flash():
    shots = tuple(Shot(i, i, i * 3.0, i * 3.0 + 3.0, "p", "zoom_in", "calm") for i in range(4))
    plan = Timeline(12.0, tuple((s.start, s.end) for s in shots), shots)
    cut = cut_timeline(plan, 7.5)
    assert [(s.start, s.end) for s in cut.shots] == [(0.0, 3.0), (3.0, 6.0), (6.0, 7.5)] and cut.duration == 7.5
    flash = cut_timeline(plan, 6.4)  # a 0.4 s last shot would flash by: the one before runs on
    assert [(s.start, s.end) for s in flash.shots] == [(0.0, 3.0), (3.0, 6.4)]


def test_a_profile_limit_can_be_changed_by_configuration():
    from engine.config import load_settings
    from engine.stages.exports import profile_for

    settings = load_settings(export_max_seconds={"tiktok": 180, "shorts": 0})
    assert profile_for("tiktok", settings.export_max_seconds).max_seconds == 180
    assert profile_for("shorts", settings.export_max_seconds).max_seconds is None
    assert profile_for("reels", settings.export_max_seconds).max_seconds == 60


def test_export_names_are_checked():
    assert parse_exports("Shorts, square,shorts") == ("shorts", "square")
    with pytest.raises(InputError, match="unknown export 'vine'; known: youtube, shorts"):
        parse_exports("shorts,vine")


def test_vertical_layout_shows_the_whole_picture_over_a_blurred_fill(tmp_path: Path):
    picture = Image.new("RGB", (1920, 1080), (200, 40, 40))
    picture.paste((40, 200, 40), (0, 0, 960, 1080))  # left half green: a crop would lose it
    picture.save(tmp_path / "still.png")
    laid = Image.open(recompose(tmp_path / "still.png", PROFILES["shorts"], Cache(tmp_path / "cache")))
    assert laid.size == (1080, 1920)
    pixels = np.asarray(laid).astype(int)
    middle = pixels[1920 // 2 - 160]
    assert middle[100][1] > 150 and middle[1000][0] > 150  # both halves of the picture are there
    assert pixels[50].mean() < pixels[1920 // 2 - 160].mean()  # the fill above is darker
    square = Image.open(recompose(tmp_path / "still.png", PROFILES["square"], Cache(tmp_path / "cache")))
    assert square.size == (1080, 1080)


def test_a_vertical_short_is_rendered_from_the_cached_parts(tmp_path: Path):
    preset = load_preset("military-history", None)
    text = "The convoy left at night. The ice held. By dawn the trucks reached the city and the bakers began to work."
    script = Script("t", "t", "en", (Scene(0, text, "p", "tense"),), "own-text")
    narration = narrate(script, PiperTTS(VoiceStyle()), Cache(tmp_path / "cache"), tmp_path / "narration.wav")
    words = narration.words
    shots = (Shot(0, 0, 0.0, narration.duration / 2, "p", "zoom_in", "tense"),
             Shot(1, 0, narration.duration / 2, narration.duration, "p", "pan_left", "tense"))
    plan = Timeline(narration.duration, ((0.0, narration.duration),), shots)
    stills = {}
    for shot in shots:
        Image.new("RGB", (1920, 1080), (30 + 100 * shot.index, 60, 90)).save(tmp_path / f"{shot.index}.png")
        stills[shot.index] = tmp_path / f"{shot.index}.png"
    profile = ExportProfile("test", 360, 640, 3.0, layout="blur")
    options = render.RenderOptions(fps=15, fonts=bold_font_dir(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    out = render_export(profile, plan, words, narration.audio, narration.audio, stills, preset, "classic", SynthesisedBeds(),
                        options, Cache(tmp_path / "cache"), work, tmp_path / "short.mp4")
    info = probe(out)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (360, 640, "h264", "aac")
    expected = short_cut(words, narration.duration, 3.0)
    assert info.duration <= 3.0 + 0.1 and abs(info.duration - expected) < 0.15
    last = max((w for w in words if w.end <= expected), key=lambda w: w.end)
    assert last.text.endswith(".")  # it ends on a full sentence
    assert abs(measure_loudness(out).integrated_lufs + 14) <= 1.0


def test_a_chapters_window_is_timed_from_its_start_and_keeps_the_pictures_it_shows():
    from engine.stages.exports import window

    shots = tuple(Shot(k, k, k * 10.0, (k + 1) * 10.0, f"p{k}", "zoom_in", "calm") for k in range(6))
    plan = Timeline(60.0, tuple((k * 10.0, (k + 1) * 10.0) for k in range(6)), shots)
    words = _words(" ".join(f"w{k}" for k in range(120)))  # one word every 0.5 s
    part, kept = window(plan, words, 25.0, 42.0)
    assert part.duration == 17.0
    assert [(s.index, s.start, s.end) for s in part.shots] == [(2, 0.0, 5.0), (3, 5.0, 15.0), (4, 15.0, 17.0)]
    assert kept[0].text == "w50" and kept[0].start == 0.0 and kept[-1].text == "w83"
    assert part.scene_spans[0] == (0.0, 5.0)
