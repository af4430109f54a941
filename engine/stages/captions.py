"""Captions stage: words grouped into readable cues, written as SRT, VTT and ASS (pysubs2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pysubs2

from engine.cache import atomic_write_text
from engine.models import Word
from engine.presets import CaptionStyle

VERSION = 1
MAX_CUE_SECONDS = 3.2
MIN_CUE_SECONDS = 0.8
LINGER = 0.35  # a cue stays this long after its last word unless the next one starts
FONT_NAME = "Noto Sans"


@dataclass(frozen=True)
class Cue:
    """One caption on screen: its words and times."""

    start: float
    end: float
    lines: tuple[str, ...]


def _lines(words: list[str], max_chars: int) -> list[str]:
    lines: list[str] = [""]
    for word in words:
        candidate = f"{lines[-1]} {word}".strip()
        if lines[-1] and len(candidate) > max_chars:
            lines.append(word)
        else:
            lines[-1] = candidate
    return lines


def build_cues(words: tuple[Word, ...], style: CaptionStyle, max_lines: int = 2) -> tuple[Cue, ...]:
    """Group words into cues of at most `max_lines` lines, breaking at sentence ends and pauses."""
    groups: list[list[Word]] = []
    for word in words:
        current = groups[-1] if groups else None
        if current:
            text = [w.text for w in current] + [word.text]
            too_long = len(_lines(text, style.max_chars_per_line)) > max_lines
            too_slow = word.end - current[0].start > MAX_CUE_SECONDS
            sentence_end = current[-1].text.rstrip("\"'”»)").endswith((".", "!", "?", "…"))
            pause = word.start - current[-1].end > 0.6
            if not (too_long or too_slow or sentence_end or pause):
                current.append(word)
                continue
        groups.append([word])
    cues: list[Cue] = []
    for i, group in enumerate(groups):
        start = group[0].start
        next_start = groups[i + 1][0].start if i + 1 < len(groups) else None
        end = max(group[-1].end + LINGER, start + MIN_CUE_SECONDS)
        if next_start is not None:
            end = min(end, next_start)  # never overlap the next cue
        cues.append(Cue(start, max(end, group[-1].end), tuple(_lines([w.text for w in group], style.max_chars_per_line))))
    return tuple(cues)


def _hex_to_ass(colour: str) -> pysubs2.Color:
    return pysubs2.Color(int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def subtitle_file(cues: tuple[Cue, ...], style: CaptionStyle, width: int, height: int) -> pysubs2.SSAFile:
    """A pysubs2 document of the cues with a burned-in style scaled to the frame size."""
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2"})
    scale = height / 1080
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=style.font_size * scale, bold=True,
        primarycolor=_hex_to_ass(style.colour), outlinecolor=_hex_to_ass(style.outline),
        backcolor=pysubs2.Color(0, 0, 0, 110), borderstyle=1, outline=4 * scale, shadow=2 * scale,
        alignment=pysubs2.Alignment.BOTTOM_CENTER, marginv=int(110 * scale),
        marginl=int(120 * scale), marginr=int(120 * scale),
    )
    for cue in cues:
        subs.append(
            pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000), text=r"\N".join(cue.lines))
        )
    return subs


def write_subtitles(subs: pysubs2.SSAFile, folder: Path, stem: str = "subtitles") -> tuple[Path, ...]:
    """Write SRT, VTT and ASS beside each other, each atomically."""
    paths = []
    for extension in ("srt", "vtt", "ass"):
        path = folder / f"{stem}.{extension}"
        atomic_write_text(path, subs.to_string(extension))
        paths.append(path)
    return tuple(paths)
