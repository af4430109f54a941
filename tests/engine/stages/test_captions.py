from pathlib import Path

import pysubs2

from engine.models import Word
from engine.presets import CaptionStyle
from engine.stages.captions import build_cues, subtitle_file, write_subtitles


def _speech() -> tuple[Word, ...]:
    text = "The siege lasted eight hundred and seventy two days. Hunger took more lives than the bombs did, and winter made it worse."
    return tuple(Word(w, 0.3 + i * 0.35, 0.3 + i * 0.35 + 0.3) for i, w in enumerate(text.split()))


def test_cues_respect_line_length_sentences_and_never_overlap():
    style = CaptionStyle(max_chars_per_line=24)
    cues = build_cues(_speech(), style)
    assert all(len(line) <= 24 for cue in cues for line in cue.lines)
    assert all(len(cue.lines) <= 2 for cue in cues)
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    assert any(cue.lines[-1].endswith("days.") for cue in cues)  # a sentence ends its cue
    assert " ".join(" ".join(c.lines) for c in cues).split() == [w.text for w in _speech()]


def test_formats_parse_back(tmp_path: Path):
    style = CaptionStyle()
    subs = subtitle_file(build_cues(_speech(), style), style, 1920, 1080)
    paths = write_subtitles(subs, tmp_path)
    assert [p.suffix for p in paths] == [".srt", ".vtt", ".ass"]
    for path in paths:
        parsed = pysubs2.load(str(path))
        assert len(parsed) == len(subs)
        assert parsed[0].start == subs[0].start and parsed[-1].end == subs[-1].end
    ass = pysubs2.load(str(tmp_path / "subtitles.ass"))
    assert ass.styles["Default"].fontname == "Noto Sans" and ass.info["PlayResY"] == "1080"
