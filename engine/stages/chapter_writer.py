"""A long script written by a language model chapter by chapter: an outline of chapters, then one call per chapter.

Each call carries the outline and the previous chapter's last lines, so the chapters join up;
the caller caches every call by its messages, so a job killed after chapter two asks only for
chapter three and on when it resumes.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from engine.models import Scene, Script
from engine.presets import Preset
from engine.stages import longform
from engine.stages.script import Ask, LLMScene, ask_valid, scene_of
from engine.text import split_sentences, split_words

MAX_CHAPTERS = 12
WORDS_TOLERANCE = 0.1  # a chapter within ±10% of its words keeps the whole narration within ±10% of the length

_OUTLINE_SYSTEM = (
    "You plan documentaries for YouTube. Answer with one JSON object only, no prose, with keys: "
    'title, description, tags (list of strings), chapters (list of {"title", "summary"}).'
)
_CHAPTER_SYSTEM = (
    "You write the narration of one chapter of a documentary for YouTube. Answer with one JSON object only, "
    'no prose, with the key scenes: a list of {"narration", "image_prompt", "mood", "lower_third"}; mood is one '
    'of calm, tense, dramatic, uplifting; lower_third is a date and place such as "1941-09-08, Leningrad" '
    "where the scene moves to one, else empty."
)


class _PlannedChapter(BaseModel):
    title: str = Field(min_length=2, max_length=90)
    summary: str = Field(min_length=3, max_length=600)


class LLMOutline(BaseModel):
    """The chapter plan a language model must write first."""

    title: str = Field(min_length=3, max_length=100)
    description: str = ""
    tags: list[str] = Field(default_factory=list, max_length=30)
    chapters: list[_PlannedChapter] = Field(min_length=longform.MIN_CHAPTERS, max_length=MAX_CHAPTERS)


class LLMChapter(BaseModel):
    """One chapter's scenes."""

    scenes: list[LLMScene] = Field(min_length=1, max_length=40)


def words_problem(words: int) -> Callable[[LLMChapter], str]:
    """A check for ask_valid: what is wrong with a chapter whose narration misses `words` by more than the tolerance."""
    low, high = round(words * (1 - WORDS_TOLERANCE)), round(words * (1 + WORDS_TOLERANCE))

    def problem_of(chapter: LLMChapter) -> str:
        said = sum(len(split_words(scene.narration)) for scene in chapter.scenes)
        if low <= said <= high:
            return ""
        return f"its narration has {said} words; it must have about {words} (between {low} and {high})"

    return problem_of


def _outline_text(outline: LLMOutline) -> str:
    return "; ".join(f"{n}. {c.title}: {c.summary}" for n, c in enumerate(outline.chapters, 1))


def _last_lines(scenes: list[Scene], count: int = 2) -> str:
    """The last sentences said, for the next chapter to follow on from."""
    said = [sentence for scene in scenes[-2:] for sentence in split_sentences(scene.narration)]
    return " ".join(said[-count:])


def write_outline(topic: str, preset: Preset, plan: longform.ChapterPlan, ask: Ask) -> LLMOutline:
    """The chapter plan: title, description, tags and chapters with a summary each."""
    fields = {"topic": topic, "minutes": f"{plan.minutes:g}", "chapters": plan.chapters}
    messages = [{"role": "system", "content": _OUTLINE_SYSTEM},
                {"role": "user", "content": preset.llm.chapter_outline.format_map(fields)}]
    return ask_valid(ask, messages, LLMOutline)


def write_chapter(topic: str, preset: Preset, outline: LLMOutline, number: int, words: int, previous: str,
                  ask: Ask) -> LLMChapter:
    """One chapter's scenes, about `words` words, following on from the previous chapter's last lines."""
    planned = outline.chapters[number]
    fields = {"topic": topic, "number": number + 1, "count": len(outline.chapters), "chapter": planned.title,
              "summary": planned.summary, "words": words, "outline": _outline_text(outline),
              "previous": previous or "(this is the first chapter)"}
    messages = [{"role": "system", "content": _CHAPTER_SYSTEM},
                {"role": "user", "content": preset.llm.chapter.format_map(fields)}]
    return ask_valid(ask, messages, LLMChapter, words_problem(words))


def chaptered_llm_script(topic: str, preset: Preset, minutes: int, ask: Ask) -> Script:
    """A script of about `minutes` minutes in chapters, each chapter written in its own call."""
    plan = longform.chapter_plan(minutes, MAX_CHAPTERS, preset.voice.speed)
    outline = write_outline(topic, preset, plan, ask)
    words = round(plan.words / len(outline.chapters))
    scenes: list[Scene] = []
    for number in range(len(outline.chapters)):
        chapter = write_chapter(topic, preset, outline, number, words, _last_lines(scenes), ask)
        scenes += [scene_of(written, preset, len(scenes) + k, number) for k, written in enumerate(chapter.scenes)]
    return Script(title=outline.title, topic=topic, language=preset.language, scenes=tuple(scenes), source="llm",
                  description=outline.description, tags=tuple(outline.tags),
                  chapters=tuple(c.title for c in outline.chapters))
