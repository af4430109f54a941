"""Script stage: a topic becomes a language model's script or an outline from the preset's templates; own text becomes scenes."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import TypeVar
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from engine.errors import BackendError, InputError
from engine.models import Mood, Scene, Script
from engine.presets import Preset, SectionTemplate
from engine.stages import longform
from engine.text import has_words, printable, split_sentences, split_words

log = logging.getLogger(__name__)

VERSION = 1
MAX_TOPIC_CHARS = 500
MAX_SCRIPT_WORDS = 20_000
MAX_SCRIPT_BYTES = 1_000_000  # far more than 20,000 words of any script; checked before reading
SCENE_WORDS = 45  # a scene of own text holds about this many words (~15 s of speech)
SHORTEST_CHAPTER_SECONDS = 30  # a title card and one scene
# The most chapters a script may open: the longest video in the shortest chapters that still show as chapters.
MAX_CHAPTERS = longform.MAX_MINUTES * 60 // SHORTEST_CHAPTER_SECONDS
SECTIONS_BY_LENGTH = {"short": 2, "medium": 4, "long": 99}


def check_topic(topic: str) -> str:
    """The topic stripped of control characters and extra spaces, or an InputError for an empty, wordless or over-long one."""
    topic = " ".join(printable(topic).split())
    if not topic:
        raise InputError("the topic is empty: give a topic such as \"The Siege of Leningrad\"")
    if not has_words(topic):
        raise InputError(f"the topic '{topic[:40]}' has no words: give a topic such as \"The Siege of Leningrad\"")
    if len(topic) > MAX_TOPIC_CHARS:
        raise InputError(
            f"the topic is {len(topic)} characters long; the limit is {MAX_TOPIC_CHARS} "
            "(put long text in a file and pass it with --script-file)"
        )
    return topic


def read_script_file(path: Path) -> str:
    """The text of a script file, or an InputError if it is missing, not a plain file, too big, binary or empty."""
    try:
        if not path.is_file():  # a folder, a named pipe or a device (/dev/zero) is never read
            raise InputError(f"script file {path} does not exist or is not a plain file")
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise InputError(f"script file {path} is over {MAX_SCRIPT_BYTES // 1_000_000} MB; "
                             "a script for one video is far shorter")
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read script file {path}: {error.strerror}") from None
    if b"\x00" in raw:
        raise InputError(f"script file {path} is not a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"script file {path} is not UTF-8 text") from None
    text = printable(text)
    if not text.strip():
        raise InputError(f"script file {path} is empty")
    if not has_words(text):
        raise InputError(f"script file {path} has no words to say, only punctuation")
    if len(split_words(text)) > MAX_SCRIPT_WORDS:
        raise InputError(f"script file {path} has more than {MAX_SCRIPT_WORDS} words")
    return text


def _pick(options: tuple[str, ...], topic: str, salt: str) -> str:
    # Chosen by hash, so the same topic always gets the same script.
    digest = hashlib.sha256(f"{topic}|{salt}".encode()).digest()
    return options[digest[0] % len(options)]


def _prompt(preset: Preset, subject: str) -> str:
    style = preset.images
    return " ".join(part for part in (style.prompt_prefix, subject, style.prompt_suffix) if part)


def outline_title(topic: str, preset: Preset) -> str:
    """The outline's title for a topic, always the same for the same topic."""
    return _pick(preset.outline.title, topic, "title").format(topic=topic)


def outline_script(topic: str, preset: Preset, length: str, minutes: int | None = None) -> Script:
    """A structured outline (hook, sections, conclusion) from the preset's templates; in chapters for `minutes`."""
    if minutes:
        return chaptered_outline(topic, preset, minutes)
    templates = preset.outline
    sections: list[SectionTemplate] = [
        templates.hook,
        *templates.sections[: SECTIONS_BY_LENGTH[length]],
        templates.conclusion,
    ]
    scenes = tuple(
        Scene(
            index=i,
            narration=_pick(section.narration, topic, section.name).format(topic=topic),
            image_prompt=_prompt(preset, section.prompt.format(topic=topic)),
            mood=section.mood,
            section=section.name,
        )
        for i, section in enumerate(sections)
    )
    return Script(title=outline_title(topic, preset), topic=topic, language=preset.language, scenes=scenes,
                  source="outline")


def chaptered_outline(topic: str, preset: Preset, minutes: int) -> Script:
    """An offline script of about `minutes` minutes in chapters, grown from the preset's sections."""
    scenes: list[Scene] = []
    chapters = longform.grow_chapters(topic, preset, minutes)
    for number, chapter in enumerate(chapters):
        for narration, subject in chapter.scenes:
            scenes.append(Scene(index=len(scenes), narration=narration, image_prompt=_prompt(preset, subject),
                                mood=chapter.section.mood, section=chapter.section.name, chapter=number))
    return Script(title=outline_title(topic, preset), topic=topic, language=preset.language, scenes=tuple(scenes),
                  source="outline", chapters=tuple(chapter.title for chapter in chapters))


def _chunk_paragraph(paragraph: str) -> list[str]:
    """Sentences of one paragraph grouped into scenes of about SCENE_WORDS words."""
    groups: list[list[str]] = [[]]
    for sentence in split_sentences(paragraph):
        if groups[-1] and len(split_words(" ".join(groups[-1] + [sentence]))) > SCENE_WORDS:
            groups.append([])
        groups[-1].append(sentence)
    return [" ".join(group) for group in groups if group]


HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MARK = re.compile(r"^\[([^\[\]\n]{2,80})\]\s*")  # "[1941-09-08, Leningrad]" opening a paragraph: a lower third
INTRODUCTION = "Introduction"


def _parts_of(text: str) -> tuple[str | None, list[tuple[str, str]]] | None:
    """A text with `#` headings as (title, [(chapter title, body)]); None when it has no chapter headings.

    A first heading followed only by deeper ones (`# Title` then `## Chapter`) titles the video;
    every other heading opens a chapter, and text before the first one is the introduction.
    """
    lines = text.strip().splitlines()
    headings = [(i, len(m.group(1)), m.group(2).strip()) for i, line in enumerate(lines) if (m := HEADING.match(line))]
    title = None
    if headings and headings[0][0] == 0 and all(level > headings[0][1] for _, level, _ in headings[1:]):
        title, headings = headings[0][2], headings[1:]
    if not headings:
        return None
    starts = [i for i, _, _ in headings]
    parts = [(INTRODUCTION, "\n".join(lines[1 if title else 0: starts[0]]))]
    parts += [(name, "\n".join(lines[i + 1: end])) for (i, _, name), end in zip(headings, [*starts[1:], len(lines)])]
    return title, [(name, body) for name, body in parts if body.strip()]


def _scenes_of(body: str, preset: Preset, first_index: int, chapter: int) -> list[Scene]:
    """One chapter's (or the whole text's) paragraphs as scenes; a paragraph's opening [mark] is its lower third."""
    scenes: list[Scene] = []
    for paragraph in (p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()):
        paragraph = paragraph.strip()
        mark = MARK.match(paragraph)
        if mark:
            paragraph = paragraph[mark.end():]
        for k, chunk in enumerate(_chunk_paragraph(paragraph)):
            index = first_index + len(scenes)
            scenes.append(Scene(
                index=index, narration=chunk, image_prompt=_prompt(preset, split_sentences(chunk)[0][:200]),
                mood="calm",  # the moods stage reads the narration
                section=f"part-{index + 1}", chapter=chapter,
                lower_third=" ".join(mark.group(1).split()) if mark and k == 0 else ""))
    return scenes


def check_chapters(count: int) -> None:
    """An InputError for more chapters than fit the longest video."""
    if count > MAX_CHAPTERS:
        raise InputError(f"the script opens {count} chapters; at most {MAX_CHAPTERS} fit the longest video "
                         f"({longform.MAX_MINUTES} minutes, each chapter at least {SHORTEST_CHAPTER_SECONDS} s): "
                         "join some of its # headings")


def chapter_count(text: str) -> int:
    """How many chapters a script's `#` headings open (0 for a script without them)."""
    chaptered = _parts_of(text)
    return len(chaptered[1]) if chaptered is not None else 0


def text_script(text: str, title: str, preset: Preset, source: str = "own-text") -> Script:
    """The user's own text split into scenes at paragraph and sentence boundaries; `#` headings open chapters."""
    chaptered = _parts_of(text)
    if chaptered is not None:
        heading, parts = chaptered
        check_chapters(len(parts))
        scenes: list[Scene] = []
        for number, (_, body) in enumerate(parts):
            scenes += _scenes_of(body, preset, len(scenes), number)
        if not scenes:
            raise InputError("the script has headings but no narration")
        return Script(title=heading or title, topic=heading or title, language=preset.language, scenes=tuple(scenes),
                      source=source, chapters=tuple(name for name, _ in parts))
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    first_lines = paragraphs[0].strip().splitlines() if paragraphs else []
    # A short first line without end punctuation is a heading: it titles the video.
    if first_lines and len(first_lines[0]) <= 100 and not first_lines[0].rstrip().endswith((".", "!", "?", "…")):
        title = first_lines[0].strip().lstrip("#").strip() or title
        rest = "\n".join(first_lines[1:]).strip()
        paragraphs = ([rest] if rest else []) + paragraphs[1:]
    scenes = _scenes_of("\n\n".join(paragraphs), preset, 0, 0)
    if not scenes:
        raise InputError("the script has a title but no narration")
    return Script(title=title, topic=title, language=preset.language, scenes=tuple(scenes), source=source)


class LLMScene(BaseModel):
    """One scene as a language model must write it."""

    narration: str = Field(min_length=20, max_length=1500)
    image_prompt: str = Field(min_length=3, max_length=400)
    mood: Mood
    lower_third: str = Field("", max_length=80)  # a date and place to show, such as "1941-09-08, Leningrad"


class LLMScript(BaseModel):
    """The JSON a language model must write."""

    title: str = Field(min_length=3, max_length=100)
    description: str = ""
    tags: list[str] = Field(default_factory=list, max_length=30)
    scenes: list[LLMScene] = Field(min_length=2, max_length=60)


SCENES_BY_LENGTH = {"short": "4 to 5", "medium": "6 to 8", "long": "12 to 16"}
LLM_ATTEMPTS = 3
_SYSTEM = (
    "You write narration for faceless YouTube videos. Answer with one JSON object only, no prose, with keys: "
    'title, description, tags (list of strings), scenes (list of {"narration", "image_prompt", "mood"}); '
    "mood is one of calm, tense, dramatic, uplifting."
)


def _json_in(text: str) -> str:
    """The JSON object in a reply, without code fences or chatter around it."""
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


def _short(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'the reply'}: {e['msg']}" for e in error.errors()[:5]
    )


Ask = Callable[[list[dict[str, str]]], str]
Reply = TypeVar("Reply", bound=BaseModel)


def ask_valid(ask: Ask, messages: list[dict[str, str]], schema: type[Reply],
              problem_of: Callable[[Reply], str] = lambda reply: "") -> Reply:
    """A reply that fits `schema`, asked up to LLM_ATTEMPTS times, each time told what was wrong.

    `problem_of` names what is wrong with a reply that fits the schema (too short, say); when no
    try gets it right, the last reply that fits the schema is taken anyway.
    """
    problem, usable = "", None
    for _ in range(LLM_ATTEMPTS):
        reply = ask(messages)
        try:
            written = schema.model_validate_json(_json_in(reply))
        except ValidationError as error:
            problem = _short(error)
            complaint = f"That JSON is not valid: {problem}."
        else:
            usable, problem = written, problem_of(written)
            if not problem:
                return written
            complaint = f"That JSON is valid, but {problem}."
        log.info("the language model's reply was not right (%s); asking again", problem)
        messages = [*messages, {"role": "assistant", "content": reply},
                    {"role": "user", "content": f"{complaint} Reply with the corrected JSON only."}]
    if usable is not None:
        log.warning("the language model's reply is still not right (%s); using it as it is", problem)
        return usable
    raise BackendError(f"the language model wrote no valid script in {LLM_ATTEMPTS} tries (last problem: {problem})")


def scene_of(written: LLMScene, preset: Preset, index: int, chapter: int = 0) -> Scene:
    """A scene as the language model wrote it, with the preset's picture style."""
    return Scene(index=index, narration=" ".join(written.narration.split()),
                 image_prompt=_prompt(preset, written.image_prompt), mood=written.mood, section=f"part-{index + 1}",
                 chapter=chapter, lower_third=" ".join(written.lower_third.split()))


def llm_script(topic: str, preset: Preset, length: str, ask: Ask) -> Script:
    """A script written by a language model from the preset's template, checked against the schema.

    `ask` sends the conversation and returns the reply's text. A reply that is not valid is sent
    back with what was wrong, up to LLM_ATTEMPTS times.
    """
    outline = ", ".join(s.name for s in (preset.outline.hook, *preset.outline.sections, preset.outline.conclusion))
    fields = {"topic": topic, "length": f"{length} ({SCENES_BY_LENGTH[length]} scenes)", "outline": outline,
              "title": topic, "scene": "", "script": ""}
    prompt = preset.llm.script.format_map(fields)
    messages = [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": prompt}]
    written = ask_valid(ask, messages, LLMScript)
    scenes = tuple(scene_of(scene, preset, i) for i, scene in enumerate(written.scenes))
    return Script(title=written.title, topic=topic, language=preset.language, scenes=scenes, source="llm",
                  description=written.description, tags=tuple(written.tags))
