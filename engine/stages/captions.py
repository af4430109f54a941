"""Captions stage: words grouped into readable cues; SRT and VTT beside the video, a styled ASS burned in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pysubs2

from engine.cache import atomic_write_text
from engine.models import CaptionKind, ChapterMark, Scene, Word
from engine.presets import CaptionStyle, ChapterStyle

VERSION = 2
LINGER = 0.35  # a cue stays this long after its last word unless the next one starts
PAUSE = 0.6  # a silence this long ends a cue
FONT_NAME = "Noto Sans"
_SENTENCE_END = (".", "!", "?", "…")
_CLAUSE_END = (",", ";", ":", "—", "–")


@dataclass(frozen=True)
class CueRules:
    """Limits one caption on screen must keep."""

    max_chars_per_line: int
    max_lines: int
    min_seconds: float
    max_seconds: float
    max_words: int | None = None


@dataclass(frozen=True)
class Cue:
    """One caption on screen: its words, its lines and its times."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...]


def rules_for(kind: CaptionKind, style: CaptionStyle) -> CueRules:
    """The limits of a caption kind: lines of the preset's length, or 2 to 4 words for vertical video."""
    if kind == "short":
        return CueRules(min(style.max_chars_per_line, 20), 1, min(style.min_seconds, 0.5), 1.8, max_words=4)
    return CueRules(style.max_chars_per_line, style.max_lines, style.min_seconds, 4.0)


def _bare(text: str) -> str:
    return text.rstrip("\"'”»)]")


def break_lines(words: list[str], max_chars: int, max_lines: int) -> list[str] | None:
    """The words in at most `max_lines` balanced lines of at most `max_chars`, or None if they do not fit.

    A word longer than a line gets a line of its own; words are never split.
    """
    if not words:
        return [""]
    if len(words) == 1:
        return words[:]
    best: tuple[float, list[str]] | None = None

    def consider(lines: list[str]) -> None:
        nonlocal best
        if any(len(line) > max_chars and " " in line for line in lines):
            return
        lengths = [len(line) for line in lines]
        # Balanced lines read best; a break after punctuation is a little better.
        cost = float(max(lengths) - min(lengths)) if len(lines) > 1 else 0.0
        cost += sum(0 if _bare(line).endswith(_SENTENCE_END + _CLAUSE_END) else 6 for line in lines[:-1])
        # A line should not end on a dangling "a", "и", "в"...
        cost += sum(5 for line in lines[:-1] if len(line.rsplit(" ", 1)[-1]) <= 2)
        cost += 1000 * (len(lines) - 1)  # fewer lines first
        if best is None or cost < best[0]:
            best = (cost, lines)

    consider([" ".join(words)])
    if max_lines >= 2:
        for cut in range(1, len(words)):
            consider([" ".join(words[:cut]), " ".join(words[cut:])])
    if max_lines >= 3 and best is None:
        for first in range(1, len(words) - 1):
            for second in range(first + 1, len(words)):
                consider([" ".join(words[:first]), " ".join(words[first:second]), " ".join(words[second:])])
    return best[1] if best else None


def build_cues(words: tuple[Word, ...], rules: CueRules) -> tuple[Cue, ...]:
    """Group words into cues: break at sentence ends and pauses, within the rules' limits; cues never overlap."""
    groups: list[list[Word]] = []
    for word in words:
        current = groups[-1] if groups else None
        if current:
            texts = [w.text for w in current] + [word.text]
            fits = break_lines(texts, rules.max_chars_per_line, rules.max_lines) is not None
            too_many = rules.max_words is not None and len(texts) > rules.max_words
            too_slow = word.end - current[0].start > rules.max_seconds
            long_enough = current[-1].end - current[0].start >= rules.min_seconds
            sentence_end = _bare(current[-1].text).endswith(_SENTENCE_END)
            clause_end = rules.max_words is not None and _bare(current[-1].text).endswith(_CLAUSE_END)
            pause = word.start - current[-1].end > PAUSE
            natural_break = (sentence_end or clause_end or pause) and (long_enough or pause or rules.max_words)
            if rules.max_words and len(current) < 2 and not pause:
                natural_break = False  # short captions keep at least two words together
            if fits and not too_many and not too_slow and not natural_break:
                current.append(word)
                continue
        groups.append([word])
    cues: list[Cue] = []
    for i, group in enumerate(groups):
        start = group[0].start
        end = max(group[-1].end + LINGER, start + rules.min_seconds)
        if i + 1 < len(groups):
            end = min(end, groups[i + 1][0].start)  # never overlap the next cue
        texts = [w.text for w in group]
        lines = break_lines(texts, rules.max_chars_per_line, rules.max_lines) or texts
        cues.append(Cue(start, max(end, group[-1].end), tuple(lines), tuple(group)))
    return tuple(cues)


def _hex_to_ass(colour: str) -> pysubs2.Color:
    return pysubs2.Color(int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _ass_colour_tag(colour: str) -> str:
    return f"&H{colour[5:7]}{colour[3:5]}{colour[1:3]}&".upper()


def safe_margins(width: int, height: int) -> tuple[int, int, int]:
    """Left, right and bottom margins that keep captions inside the frame's safe area.

    Landscape and square: the 5% title-safe border plus room above the player's controls.
    Vertical (Shorts, Reels, TikTok): above the caption, channel name and buttons that cover
    the bottom fifth, and clear of the buttons on the right.
    """
    if height > width:
        return int(0.08 * width), int(0.16 * width), int(0.30 * height)
    return int(0.0625 * width), int(0.0625 * width), int(0.10 * height)


def safe_area(width: int, height: int) -> tuple[int, int, int, int]:
    """The rectangle (left, top, right, bottom) captions must stay inside."""
    left, right, bottom = safe_margins(width, height)
    return left, int(0.05 * height), width - right, height - bottom + int(0.02 * height)


def subtitle_file(
    cues: tuple[Cue, ...], style: CaptionStyle, width: int, height: int, kind: CaptionKind = "classic"
) -> pysubs2.SSAFile:
    """A pysubs2 document of the cues, styled for burning into a `width` x `height` frame.

    Karaoke cues become one event per spoken word, with that word in the highlight colour.
    """
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2"})
    scale = min(width, height) / 1080
    left, right, bottom = safe_margins(width, height)
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=style.font_size * scale * (1.15 if kind == "short" else 1.0), bold=True,
        primarycolor=_hex_to_ass(style.colour), outlinecolor=_hex_to_ass(style.outline),
        backcolor=pysubs2.Color(0, 0, 0, 110), borderstyle=1, outline=4 * scale, shadow=2 * scale,
        alignment=pysubs2.Alignment.BOTTOM_CENTER, marginv=bottom, marginl=left, marginr=right,
    )
    for cue in cues:
        if kind != "karaoke":
            text = r"\N".join(cue.lines)
            subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000), text=text))
            continue
        for k, word in enumerate(cue.words):
            begin = word.start if k else cue.start
            finish = cue.words[k + 1].start if k + 1 < len(cue.words) else cue.end
            subs.append(
                pysubs2.SSAEvent(
                    start=round(begin * 1000), end=round(finish * 1000),
                    text=_highlighted(cue, k, style.highlight),
                )
            )
    return subs


@dataclass(frozen=True)
class Card:
    """Text shown over the picture for a while: a chapter's title card or a lower third."""

    start: float
    end: float
    text: str
    kind: str  # "title" (centred), "lower-third", "credit" (small, top right) or "roll" (end credits, centred)


LOWER_THIRD_SECONDS = 4.0
ROLL_LINES = 6  # credit lines per page of the end roll
ROLL_PAGE_SECONDS = 4.0


def end_roll(lines: list[str], video_end: float, closing: str) -> tuple[Card, ...]:
    """The credits as pages over the video's last seconds (never starting before its first tenth)."""
    pages = [lines[k:k + ROLL_LINES] for k in range(0, len(lines), ROLL_LINES)] or [[]]
    pages[-1] = [*pages[-1], closing]
    seconds = min(ROLL_PAGE_SECONDS, 0.9 * video_end / len(pages))
    start = video_end - seconds * len(pages)
    return tuple(Card(start + k * seconds, start + (k + 1) * seconds - 0.05, "\n".join(["Pictures", *page]), "roll")
                 for k, page in enumerate(pages))
CARD_DELAY = 0.3  # a card comes in just after the cut to its chapter


def chapter_cards(marks: tuple[ChapterMark, ...], scenes: tuple[Scene, ...], spans: dict[int, tuple[float, float]],
                  style: ChapterStyle) -> tuple[Card, ...]:
    """A card at each chapter's start (the introduction needs none) and a lower third where a scene names one."""
    cards: list[Card] = []
    if style.card != "none" and len(marks) > 1:
        for mark in marks:
            if mark.number == 0 and mark.title == "Introduction":
                continue
            start = mark.start + CARD_DELAY
            end = min(start + style.card_seconds, mark.end)
            if end - start >= 1.0:
                cards.append(Card(start, end, mark.title, "title" if style.card == "title" else "lower-third"))
    if style.lower_thirds:
        for scene in scenes:
            if scene.lower_third and scene.index in spans:
                begin, finish = spans[scene.index]
                cards.append(Card(begin + CARD_DELAY, min(begin + CARD_DELAY + LOWER_THIRD_SECONDS, finish),
                                  scene.lower_third, "lower-third"))
    return tuple(sorted(cards, key=lambda card: card.start))


def add_cards(subs: pysubs2.SSAFile, cards: tuple[Card, ...], style: ChapterStyle, captions: CaptionStyle,
              accent: str, width: int, height: int) -> None:
    """The cards as events of their own styles in `subs`, drawn over the picture with the captions."""
    if not cards:
        return
    scale = min(width, height) / 1080
    left, _, bottom = safe_margins(width, height)
    subs.styles["Chapter"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=style.font_size * scale, bold=True, primarycolor=_hex_to_ass(captions.colour),
        outlinecolor=_hex_to_ass(captions.outline), borderstyle=1, outline=5 * scale, shadow=3 * scale,
        alignment=pysubs2.Alignment.MIDDLE_CENTER, marginl=left, marginr=left)
    # A box in the accent colour, left, above two lines of captions.
    subs.styles["LowerThird"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=round(captions.font_size * 0.6 * scale), bold=True,
        primarycolor=_hex_to_ass(captions.colour), outlinecolor=_hex_to_ass(accent), backcolor=_hex_to_ass(accent),
        borderstyle=3, outline=10 * scale, shadow=0, alignment=pysubs2.Alignment.BOTTOM_LEFT, marginl=left,
        marginv=bottom + round(captions.font_size * scale * 2.8))
    # The end roll: credits that did not fit the description, centred on a dark box over the last seconds.
    subs.styles["Roll"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=round(30 * scale), bold=False, primarycolor=_hex_to_ass(captions.colour),
        outlinecolor=_hex_to_ass("#101010"), backcolor=_hex_to_ass("#101010"), borderstyle=3, outline=12 * scale,
        shadow=0, alignment=pysubs2.Alignment.MIDDLE_CENTER, marginl=left, marginr=left)
    subs.styles["Credit"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=round(28 * scale), bold=False, primarycolor=_hex_to_ass(captions.colour),
        outlinecolor=_hex_to_ass(captions.outline), borderstyle=1, outline=2 * scale, shadow=0,
        alignment=pysubs2.Alignment.TOP_RIGHT, marginr=left, marginv=round(0.05 * height))
    for card in cards:
        name = {"title": "Chapter", "lower-third": "LowerThird", "credit": "Credit", "roll": "Roll"}[card.kind]
        # No override tags from the script; a line break of the card's own is ASS's \N.
        text = card.text.replace("{", "(").replace("}", ")").replace("\\", "/").replace("\n", "\\N")
        subs.append(pysubs2.SSAEvent(start=round(card.start * 1000), end=round(card.end * 1000), style=name,
                                     text=f"{{\\fad(300,300)}}{text}"))
    subs.sort()


def _highlighted(cue: Cue, index: int, colour: str) -> str:
    """The cue's lines with word `index` in `colour`."""
    lines, position = [], 0
    for line in cue.lines:
        tokens = line.split(" ")
        marked = [
            f"{{\\c{_ass_colour_tag(colour)}}}{token}{{\\r}}" if position + n == index else token
            for n, token in enumerate(tokens)
        ]
        position += len(tokens)
        lines.append(" ".join(marked))
    return r"\N".join(lines)


def write_subtitles(
    sidecar: pysubs2.SSAFile, burned: pysubs2.SSAFile, folder: Path, stem: str = "subtitles"
) -> tuple[Path, ...]:
    """SRT and VTT of the plain cues for players and YouTube; ASS of the styled captions; each atomically."""
    paths = []
    for extension, subs in (("srt", sidecar), ("vtt", sidecar), ("ass", burned)):
        path = folder / f"{stem}.{extension}"
        atomic_write_text(path, subs.to_string(extension))
        paths.append(path)
    return tuple(paths)
