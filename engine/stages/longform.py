"""Long videos in chapters: how many chapters and words a length needs, and the offline outline grown to it.

The offline outline grows by variety: each chapter is one of the preset's sections, opened by a
question, told with the section's own narration and then with sentences built from a bank of
subjects and predicates (`outline_bank.toml`, or the preset's `[outline.growth]`), each pair said at
most once in a video. A longer video gets more chapters and longer chapters, never a sentence twice.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.presets import Preset, SectionTemplate
from engine.text import split_words

VERSION = 1
WORDS_PER_MINUTE = 200.0  # the bundled Piper voice at speed 1.0, pauses inside sentences included (measured)
SCENE_PAUSE = 0.45  # seconds of silence between scenes (voice.SCENE_GAP)
SCENE_WORDS = 40  # a grown scene holds about this many words
MINUTES_PER_CHAPTER = 2.5
MIN_CHAPTERS = 3  # YouTube shows chapters only from three on
MAX_MINUTES = 60


def minutes_of(choice: str) -> int | None:
    """The minutes of a length choice such as "20m" (a button, a form field); None for "short" and the like."""
    digits = choice[:-1] if choice.endswith("m") else ""
    return int(digits) if digits.isdigit() and 1 <= int(digits) <= MAX_MINUTES else None


@dataclass(frozen=True)
class ChapterPlan:
    """How many chapters a length gets, and how many words each should have."""

    minutes: float
    chapters: int
    words_per_chapter: int

    @property
    def words(self) -> int:
        """Words of the whole narration."""
        return self.chapters * self.words_per_chapter


def spoken_seconds(words: int, scenes: int, speed: float = 1.0) -> float:
    """About how long our voice takes to read `words` words in `scenes` scenes."""
    return words / (WORDS_PER_MINUTE * speed) * 60 + scenes * SCENE_PAUSE


def chapter_plan(minutes: float, most_chapters: int, speed: float = 1.0) -> ChapterPlan:
    """Chapters of about MINUTES_PER_CHAPTER each (at least three, at most `most_chapters`) and their words."""
    chapters = max(MIN_CHAPTERS, min(most_chapters, round(minutes / MINUTES_PER_CHAPTER)))
    # Scene pauses take their share of the time: words fill the rest.
    scenes = max(1.0, minutes * 60 / spoken_seconds(SCENE_WORDS, 1, speed))
    speaking = minutes * 60 - scenes * SCENE_PAUSE
    words = speaking / 60 * WORDS_PER_MINUTE * speed
    return ChapterPlan(minutes, chapters, max(20, round(words / chapters)))


@dataclass(frozen=True)
class GrowthBank:
    """What grown sentences are made of."""

    questions: tuple[str, ...]
    subjects: tuple[str, ...]
    predicates: tuple[str, ...]
    views: tuple[str, ...]


@cache
def _bundled_bank() -> GrowthBank:
    data = tomllib.loads((Path(__file__).with_name("outline_bank.toml")).read_text(encoding="utf-8"))
    return GrowthBank(*(tuple(data[name]) for name in ("questions", "subjects", "predicates", "views")))


def growth_bank(preset: Preset) -> GrowthBank:
    """The bundled bank with the preset's own lists in place of any it gives."""
    bank, own = _bundled_bank(), preset.outline.growth
    return GrowthBank(own.questions or bank.questions, own.subjects or bank.subjects,
                      own.predicates or bank.predicates, own.views or bank.views)


def _order(topic: str, salt: str, count: int) -> list[int]:
    # A fixed order per topic: the same topic always gets the same script.
    return sorted(range(count), key=lambda i: hashlib.sha256(f"{topic}|{salt}|{i}".encode()).digest())


class _Sentences:
    """Subject-predicate sentences, each pair at most once, no subject twice in a row or a predicate soon again."""

    def __init__(self, bank: GrowthBank, topic: str) -> None:
        self._bank, self._topic = bank, topic
        subjects, predicates = len(bank.subjects), len(bank.predicates)
        self._pairs = [divmod(k, predicates) for k in _order(topic, "pairs", subjects * predicates)]
        self._recent: list[tuple[int, int]] = []

    def take(self, chapter: str) -> str:
        """The next sentence, about `chapter`."""
        for k, (subject, predicate) in enumerate(self._pairs):
            if any(subject == s or predicate == p for s, p in self._recent[-6:]):
                continue
            self._pairs.pop(k)
            self._recent.append((subject, predicate))
            text = f"{self._bank.subjects[subject]} {self._bank.predicates[predicate]}."
            return text.format(topic=self._topic, chapter=chapter)
        raise ValueError("the outline bank has no sentence left")  # never for MAX_MINUTES: 960 pairs, ~600 needed


def chapter_title(section: SectionTemplate, position: str) -> str:
    """A section's chapter title: its own, or its name ("turning-point" → "Turning point")."""
    if section.title:
        return section.title
    if position in ("first", "last"):
        return "Introduction" if position == "first" else "Conclusion"
    return section.name.replace("-", " ").replace("_", " ").capitalize()


def _chapter_sections(preset: Preset, count: int) -> list[SectionTemplate]:
    outline = preset.outline
    return [outline.hook, *outline.sections[: count - 2], outline.conclusion]


def _views(bank: GrowthBank, topic: str) -> Iterator[str]:
    round_ = 0
    while True:
        for i in _order(topic, f"views{round_}", len(bank.views)):
            yield bank.views[i] if round_ == 0 else f"{bank.views[i]}, {round_ + 1}"
        round_ += 1


@dataclass(frozen=True)
class GrownChapter:
    """One chapter of a grown outline: its title, its section and its scenes' (narration, picture subject)."""

    title: str
    section: SectionTemplate
    scenes: tuple[tuple[str, str], ...]


def _chapter_scenes(section: SectionTemplate, topic: str, about: str, words: int, opener: str,
                    sentences: _Sentences, views: Iterator[str]) -> tuple[tuple[str, str], ...]:
    """(narration, picture) of one chapter's scenes: the question, the section's own lines, then grown ones."""
    own = [text.format(topic=topic) for text in section.narration]
    texts = [f"{opener} {own.pop(0)}".strip()]
    count = len(split_words(texts[0]))
    while count < words - 8:  # the last scene may be short: a chapter lands within a sentence of its words
        parts = [own.pop(0)] if own else []
        while len(split_words(" ".join(parts))) < SCENE_WORDS - 8 and count + len(split_words(" ".join(parts))) < words:
            parts.append(sentences.take(about))
        texts.append(" ".join(parts))
        count += len(split_words(texts[-1]))
    prompt = section.prompt.format(topic=topic)
    return tuple((text, prompt if k == 0 else f"{prompt}, {next(views)}") for k, text in enumerate(texts))


def grow_chapters(topic: str, preset: Preset, minutes: float) -> tuple[GrownChapter, ...]:
    """The chapters of an offline script of about `minutes` minutes, from the preset's sections and the bank."""
    plan = chapter_plan(minutes, len(preset.outline.sections) + 2, preset.voice.speed)
    bank = growth_bank(preset)
    sentences, views = _Sentences(bank, topic), _views(bank, topic)
    questions = _order(topic, "questions", len(bank.questions))
    sections = _chapter_sections(preset, plan.chapters)
    chapters: list[GrownChapter] = []
    for number, section in enumerate(sections):
        position = "first" if number == 0 else "last" if number == len(sections) - 1 else "middle"
        title = chapter_title(section, position)
        about = f"the {title.lower()}" if position == "middle" else topic
        # The hook and the conclusion speak for themselves; a middle chapter opens with its question.
        opener = bank.questions[questions[number % len(questions)]].format(topic=topic, chapter=about) \
            if position == "middle" else ""
        scenes = _chapter_scenes(section, topic, about, plan.words_per_chapter, opener, sentences, views)
        chapters.append(GrownChapter(title, section, scenes))
    return tuple(chapters)
