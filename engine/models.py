"""Typed, immutable records that flow between the stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

Mood = Literal["calm", "tense", "dramatic", "uplifting"]
MOODS: tuple[Mood, ...] = ("calm", "tense", "dramatic", "uplifting")
Motion = Literal["zoom_in", "zoom_out", "pan_left", "pan_right"]
MOTIONS: tuple[Motion, ...] = ("zoom_in", "pan_right", "zoom_out", "pan_left")
CaptionKind = Literal["classic", "karaoke", "short"]
CAPTION_KINDS: tuple[CaptionKind, ...] = ("classic", "karaoke", "short")


class JobRequest(BaseModel):
    """What the user asked for: a topic or their own script, optionally their own voice.

    Crosses every boundary (database, queue, files) as its JSON: `model_dump_json` and `model_validate_json`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    preset: str
    script_file: Path | None = None
    voiceover: Path | None = None
    length: Literal["short", "medium", "long"] | None = None  # None: the preset's
    voice: str | None = None  # a Piper voice (hub name, "joe" or a file); None: the preset's or the language's own
    minutes: int | None = None  # a long video of about this many minutes, in chapters; None: the preset's or `length`
    fresh: bool = False
    language: str | None = None  # None: the preset's
    caption_style: CaptionKind | None = None  # None: the preset's
    exports: tuple[str, ...] | None = None  # export profiles; None: the preset's
    review: bool | None = None  # stop before the render until the pictures are reviewed (engine/review.py); None: the preset's
    reviewed: bool = False  # reviewed: go on to the render
    avoid_pictures: tuple[str, ...] = ()  # URLs of real pictures a review replaced
    monetised: bool = False  # for a channel in the Partner Programme: nothing non-commercial may be used


@dataclass(frozen=True)
class Scene:
    """One narrated scene: what is said, what is shown, how it feels."""

    index: int
    narration: str
    image_prompt: str
    mood: Mood
    section: str = ""
    chapter: int = 0  # index into Script.chapters
    lower_third: str = ""  # a date and place shown at the scene's start, such as "1941-09-08, Leningrad"


@dataclass(frozen=True)
class Script:
    """The whole script: title and scenes in order."""

    title: str
    topic: str
    language: str
    scenes: tuple[Scene, ...]
    source: str  # "outline", "llm", "own-text" or "transcript"
    description: str = ""
    tags: tuple[str, ...] = ()
    chapters: tuple[str, ...] = ()  # chapter titles in order; empty: one unnamed chapter


@dataclass(frozen=True)
class Word:
    """One spoken word with its times in seconds from the start of the narration."""

    text: str
    start: float
    end: float
    confidence: float = 1.0
    scene: int = 0


@dataclass(frozen=True)
class Narration:
    """The narration track and, when we synthesised it, the words' exact times."""

    audio: Path
    duration: float
    sample_rate: int
    backend: str
    words: tuple[Word, ...] | None = None  # exact timings from TTS alignments


@dataclass(frozen=True)
class Words:
    """Word timings aligned to the script's own spelling."""

    words: tuple[Word, ...]
    backend: str


@dataclass(frozen=True)
class Shot:
    """One still on screen, with its camera move, inside one scene."""

    index: int
    scene: int
    start: float
    end: float
    prompt: str
    motion: Motion
    mood: Mood


@dataclass(frozen=True)
class Timeline:
    """Scene and shot times derived from where the words are spoken."""

    duration: float
    scene_spans: tuple[tuple[float, float], ...]
    shots: tuple[Shot, ...]


@dataclass(frozen=True)
class ChapterMark:
    """Where one chapter is in the video."""

    number: int  # from 0
    title: str
    start: float
    end: float
    first_scene: int


@dataclass(frozen=True)
class Artefacts:
    """The files of one finished job."""

    folder: Path
    video: Path
    subtitles: tuple[Path, ...]
    thumbnails: tuple[Path, ...]
    script_json: Path
    manifest: Path
    exports: tuple[Path, ...] = ()
    video_seconds: float = 0.0
