"""Caption grouping, line breaking, styles, formats and placement inside each frame's safe area."""

from pathlib import Path

import numpy as np
import pysubs2
import pytest
from PIL import Image

from engine.fonts import bold_font_dir
from engine.media import run_ffmpeg
from engine.models import Word
from engine.presets import CaptionStyle
from engine.stages.captions import (
    break_lines,
    build_cues,
    rules_for,
    safe_area,
    subtitle_file,
    write_subtitles,
)

TEXT = (
    "The siege lasted eight hundred and seventy two days. Hunger took more lives than the bombs did, "
    "and winter made it worse. Nobody expected it."
)


def _speech(text: str = TEXT, pace: float = 0.35) -> tuple[Word, ...]:
    return tuple(Word(w, 0.3 + i * pace, 0.3 + i * pace + pace - 0.05) for i, w in enumerate(text.split()))


def _words_of(cues) -> list[str]:
    return [token for cue in cues for line in cue.lines for token in line.split(" ")]


def test_classic_cues_keep_every_limit():
    style = CaptionStyle(max_chars_per_line=24, max_lines=2, min_seconds=0.8)
    cues = build_cues(_speech(), rules_for("classic", style))
    assert _words_of(cues) == TEXT.split()  # every word once, none split
    assert all(len(line) <= 24 for cue in cues for line in cue.lines)
    assert all(1 <= len(cue.lines) <= 2 for cue in cues)
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))  # no overlap
    assert all(cue.end - cue.start >= 0.8 for cue in cues)
    assert all(cue.start == cue.words[0].start for cue in cues)


def test_a_sentence_end_ends_its_cue():
    cues = build_cues(_speech(), rules_for("classic", CaptionStyle(max_chars_per_line=32)))
    assert [cue.lines[-1].split(" ")[-1] for cue in cues][:1] == ["days."]
    assert cues[1].words[0].text == "Hunger"


def test_a_cue_shorter_than_the_minimum_yields_to_the_next_cue():
    fast = _speech("One. Two. Three.", pace=0.2)
    cues = build_cues(fast, rules_for("classic", CaptionStyle(min_seconds=1.5, max_chars_per_line=10, max_lines=1)))
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    assert cues[-1].end - cues[-1].start >= 1.5


def test_short_captions_hold_two_to_four_words_on_one_line():
    cues = build_cues(_speech(), rules_for("short", CaptionStyle()))
    assert _words_of(cues) == TEXT.split()
    assert all(len(cue.lines) == 1 for cue in cues)
    assert all(2 <= len(cue.words) <= 4 for cue in cues[:-1])
    assert all(len(cue.lines[0]) <= 20 for cue in cues)


def test_a_word_longer_than_a_line_is_never_split():
    word = "Antidisestablishmentarianism"
    cues = build_cues(_speech(f"A {word} movement"), rules_for("classic", CaptionStyle(max_chars_per_line=12)))
    assert word in [line for cue in cues for line in cue.lines]
    assert _words_of(cues) == ["A", word, "movement"]


def test_lines_are_balanced_and_prefer_punctuation():
    lines = break_lines("Hunger took more lives than the bombs did, and winter".split(), 32, 2)
    assert lines == ["Hunger took more lives than", "the bombs did, and winter"]  # 27 and 25 characters
    assert break_lines("Then, he left the burning town".split(), 32, 2) == ["Then, he left the burning town"]
    assert break_lines("Then, he left the burning town behind".split(), 24, 2) == ["Then, he left the", "burning town behind"]
    assert break_lines(["a" * 10, "b" * 10, "c" * 10], 12, 2) is None  # three long words cannot fit two lines


def test_karaoke_highlights_each_word_while_it_is_spoken():
    style = CaptionStyle(highlight="#FFD21F")
    cues = build_cues(_speech(), rules_for("karaoke", style))
    subs = subtitle_file(cues, style, 1920, 1080, "karaoke")
    assert len(subs) == len(TEXT.split())  # one event per spoken word
    for event, word in zip(subs, _speech()):
        assert event.text.count(r"{\c&H1FD2FF&}") == 1  # BGR order in ASS
        assert f"{{\\c&H1FD2FF&}}{word.text}{{\\r}}" in event.text
        assert event.start <= round(word.start * 1000) + 1
    assert all(a.end <= b.start for a, b in zip(subs, list(subs)[1:]))


def test_formats_parse_back(tmp_path: Path):
    style = CaptionStyle()
    cues = build_cues(_speech(), rules_for("karaoke", style))
    sidecar = subtitle_file(cues, style, 1920, 1080)
    burned = subtitle_file(cues, style, 1920, 1080, "karaoke")
    paths = write_subtitles(sidecar, burned, tmp_path)
    assert [p.suffix for p in paths] == [".srt", ".vtt", ".ass"]
    for path in paths[:2]:
        parsed = pysubs2.load(str(path))
        assert len(parsed) == len(cues)
        for event, cue in zip(parsed, cues):
            assert abs(event.start - cue.start * 1000) <= 1 and abs(event.end - cue.end * 1000) <= 1
            assert event.plaintext.split() == [w.text for w in cue.words]
    ass = pysubs2.load(str(paths[2]))
    assert len(ass) == len(TEXT.split())
    assert ass.styles["Default"].fontname == "Noto Sans" and ass.info["PlayResY"] == "1080"
    assert "Hunger" in (tmp_path / "subtitles.srt").read_text(encoding="utf-8")
    assert (tmp_path / "subtitles.vtt").read_text(encoding="utf-8").startswith("WEBVTT")


@pytest.fixture(scope="module")
def fonts(tmp_path_factory) -> Path:
    return bold_font_dir(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize(("width", "height", "kind"), [(1920, 1080, "classic"), (1080, 1920, "short"), (1080, 1080, "classic")])
def test_burned_captions_stay_inside_the_safe_area(tmp_path: Path, fonts: Path, width: int, height: int, kind: str):
    style = CaptionStyle(font_size=84, max_chars_per_line=32)
    words = _speech("Nearly three million people were trapped inside the city with food for a few weeks")
    cues = build_cues(words, rules_for(kind, style))  # type: ignore[arg-type]
    subs = subtitle_file(cues[:1], style, width, height, kind)  # type: ignore[arg-type]
    (tmp_path / "c.ass").write_text(subs.to_string("ass"), encoding="utf-8")
    (tmp_path / "fonts").symlink_to(fonts, target_is_directory=True)
    at = cues[0].start + 0.1
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:d=2", "-vf", "subtitles=c.ass:fontsdir=fonts",
         "-ss", f"{at:.2f}", "-frames:v", "1", "frame.png"],
        what="caption frame", cwd=tmp_path,
    )
    pixels = np.asarray(Image.open(tmp_path / "frame.png").convert("L"))
    ys, xs = np.nonzero(pixels > 60)
    assert len(xs) > 500  # the caption was drawn
    left, top, right, bottom = safe_area(width, height)
    assert xs.min() >= left and xs.max() <= right, (xs.min(), xs.max(), left, right)
    assert ys.min() >= top and ys.max() <= bottom, (ys.min(), ys.max(), top, bottom)


def test_chapters_get_title_cards_and_marked_scenes_lower_thirds_as_their_own_styles():
    from engine.models import ChapterMark, Scene
    from engine.presets import ChapterStyle
    from engine.stages.captions import add_cards, chapter_cards, subtitle_file

    marks = (ChapterMark(0, "Introduction", 0.0, 20.0, 0), ChapterMark(1, "The Ice", 20.0, 45.0, 2),
             ChapterMark(2, "The Spring", 45.0, 60.0, 4))
    scenes = tuple(Scene(k, "text", "p", "calm", lower_third="1942-01-24, Ladoga" if k == 3 else "") for k in range(5))
    spans = {k: (k * 12.0, (k + 1) * 12.0) for k in range(5)}
    cards = chapter_cards(marks, scenes, spans, ChapterStyle())
    assert [(c.kind, c.text, round(c.start, 1)) for c in cards] == [
        ("title", "The Ice", 20.3), ("lower-third", "1942-01-24, Ladoga", 36.3), ("title", "The Spring", 45.3)]
    assert chapter_cards(marks, scenes, spans, ChapterStyle(card="none", lower_thirds=False)) == ()
    subs = subtitle_file(build_cues(_speech(), rules_for("classic", CaptionStyle())), CaptionStyle(), 1920, 1080)
    add_cards(subs, cards, ChapterStyle(), CaptionStyle(), "#C8A030", 1920, 1080)
    titles = [e for e in subs if e.style == "Chapter"]
    assert [(e.start, e.plaintext) for e in titles] == [(20300, "The Ice"), (45300, "The Spring")]
    assert subs.styles["Chapter"].alignment == pysubs2.Alignment.MIDDLE_CENTER
    assert [e.plaintext for e in subs if e.style == "LowerThird"] == ["1942-01-24, Ladoga"]


def test_credits_that_do_not_fit_the_description_roll_at_the_end_of_the_video(tmp_path: Path):
    """L4: CC BY credits never vanish: too many for YouTube's description, they are on screen at the end, with the
    note that the pictures were cropped and graded (CC BY 4.0 §3(a)(1)(B)); and the description says so."""
    from engine.presets import ChapterStyle
    from engine.publish import _fitted
    from engine.stages.captions import add_cards, end_roll
    from engine.stages.sources import MODIFIED, Credit, credit_line, credits_fit

    credits = [Credit(k, "commons", f"Ladoga ice road photograph number {k} of the convoy in winter",
                      f"Photographer {k} of the Leningrad front", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/",
                      f"https://commons.wikimedia.org/wiki/File:Ladoga_{k}_ice_road_convoy_winter_1942.jpg", "attribution")
               for k in range(40)]
    assert not credits_fit(credits) and credits_fit(credits[:3])
    lines = [credit_line(c) for c in credits]
    cards = end_roll(lines, 120.0, MODIFIED)
    assert cards[-1].end <= 120.0 and cards[0].start >= 12.0 and len(cards) == 7  # 40 lines, 6 a page
    subs = subtitle_file(build_cues(_speech(), rules_for("classic", CaptionStyle())), CaptionStyle(), 1920, 1080)
    add_cards(subs, cards, ChapterStyle(), CaptionStyle(), "#C8A030", 1920, 1080)
    write_subtitles(subs, subs, tmp_path)
    rolled = [e for e in pysubs2.load(str(tmp_path / "subtitles.ass")) if e.style == "Roll"]
    shown = "\n".join(e.plaintext for e in rolled)
    assert len(rolled) == 7 and all(line in shown for line in lines) and MODIFIED in rolled[-1].plaintext
    assert rolled[0].plaintext.splitlines()[0] == "Pictures"  # one credit a line, not one run-on line
    description = _fitted("The ice road across Lake Ladoga.", [], credits)
    assert "shown at the end of the video" in description and MODIFIED in description
    assert "credits.txt" not in description and len(description.encode()) <= 5000
    short = _fitted("The ice road.", [], credits[:3])
    assert all(c.author in short for c in credits[:3]) and MODIFIED in short
