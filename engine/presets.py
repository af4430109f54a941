"""Channel presets: TOML files validated by a schema, built-in ones overridable by the user's."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from engine.errors import PresetError, VideoFactoryError
from engine.models import CaptionKind, Mood

HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Text = Annotated[str, StringConstraints(min_length=1)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Length = Literal["short", "medium", "long"]
# xfade transitions that read well between stills
TransitionStyle = Literal["fade", "dissolve", "fadeblack", "fadewhite", "wipeleft", "slideleft", "smoothleft", "circleopen"]
ColourGrade = Literal["none", "warm", "cold", "sepia", "noir", "teal-orange", "faded"]
ExportProfile = Literal["youtube", "shorts", "tiktok", "reels", "feed", "square"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VoiceStyle(_Strict):
    # edge: Microsoft's online neural voices, Piper when they fail; kokoro: Kokoro-82M (English), fetched on first use
    backend: Literal["piper", "edge", "kokoro"] = "piper"
    # "": the language's own (the bundled English voice, or the native voice of another language, fetched
    # on first use); "joe": the bundled English voice whatever the language; a hub voice such as
    # "ru_RU-dmitri-medium"; or a path to a Piper .onnx file
    piper: str = ""
    edge: str = ""  # an edge voice such as "en-US-GuyNeural"; empty: the language's default
    kokoro: str = "af_heart"  # a Kokoro voice: af_heart, am_adam, bf_emma, bm_george…
    speed: float = Field(1.0, gt=0.3, le=3.0)
    sentence_pause: float = Field(0.0, ge=0.0, le=2.0)  # extra silence after each sentence, seconds
    scene_pause: float = Field(0.45, ge=0.0, le=3.0)  # silence between scenes (paragraphs), seconds
    lexicon: dict[str, str] = {}  # written form -> how to say it (a respelling); captions keep the written form


class ImageStyle(_Strict):
    palette: tuple[HexColour, ...] = Field(min_length=3)
    prompt_prefix: str = ""
    prompt_suffix: str = ""
    negative_prompt: str = "text, watermark, logo, blurry, deformed hands"
    # Real pictures first, in this order; what none has is painted (FLUX with tokens, else procedural).
    sources: tuple[Literal["commons", "openverse", "nasa", "pexels", "pixabay", "pexels-video", "pixabay-video"], ...] = ()
    allow_share_alike: bool = False  # CC BY-SA pictures (the video would then carry the same licence duty)
    credits_on_screen: bool = False  # a small "author / source, licence" line during each real picture
    review: bool = False  # jobs from the chat stop before the render for the pictures to be reviewed


class CaptionStyle(_Strict):
    style: CaptionKind = "classic"  # classic lines, karaoke (the spoken word highlighted), short (2-4 words)
    font_size: int = Field(80, ge=24, le=200)
    colour: HexColour = "#FFFFFF"
    highlight: HexColour = "#FFD21F"  # the spoken word, in karaoke captions
    outline: HexColour = "#000000"
    max_chars_per_line: int = Field(32, ge=10, le=80)
    max_lines: int = Field(2, ge=1, le=3)
    min_seconds: float = Field(0.8, ge=0.2, le=3.0)  # shortest time a caption stays on screen


class Effects(_Strict):
    zoom: float = Field(0.10, ge=0.0, le=0.4)  # how far a still zooms over a shot
    transition: float = Field(0.5, ge=0.0, le=2.0)  # crossfade seconds
    transition_style: TransitionStyle = "fade"
    colour_grade: ColourGrade = "none"
    max_shot_seconds: float = Field(8.0, ge=2.0, le=30.0)
    grain: float = Field(0.04, ge=0.0, le=0.3)
    vignette: float = Field(0.5, ge=0.0, le=1.0)


class MusicStyle(_Strict):
    volume_db: float = Field(-18.0, ge=-40.0, le=0.0)
    ducking_db: float = Field(-10.0, ge=-30.0, le=0.0)
    moods: dict[str, Mood] = {}  # mood per part (outline section name), overriding the narration's
    library_tags: tuple[str, ...] = ()  # prefer tracks of the user's music library with these tags
    min_segment_seconds: float = Field(12.0, ge=4.0, le=120.0)  # no mood switch more often than this
    loudness_lufs: float = Field(-14.0, ge=-24.0, le=-9.0)  # integrated loudness of the master
    true_peak_db: float = Field(-1.0, ge=-6.0, le=0.0)


class ThumbnailStyle(_Strict):
    accent: HexColour = "#E02020"
    text: HexColour = "#FFFFFF"


class SectionTemplate(_Strict):
    name: Text
    title: str = ""  # the chapter title in a long video; empty: the name, capitalised
    mood: Mood
    narration: tuple[Text, ...] = Field(min_length=1)  # alternatives; one is picked per topic
    prompt: Text


class LLMTemplates(_Strict):
    """Prompt templates for a language model; {topic}, {title}, {script}, {scene} and {length} are filled in."""

    outline: Text = (
        "Plan a {length} YouTube video about {topic}: a hook, three to six sections and a conclusion, "
        "each with a one-line summary."
    )
    script: Text = (
        "Write the narration of a {length} YouTube video about {topic} as JSON: title, description, tags, "
        "and scenes with narration (two to four spoken sentences), image_prompt and mood "
        "(calm, tense, dramatic or uplifting). Outline: {outline}"
    )
    image_prompt: Text = "Describe one striking still image for this narration, in one line: {scene}"
    title: Text = "Write a click-worthy but honest YouTube title (at most 70 characters) for: {topic}"
    description: Text = "Write a YouTube description of three short paragraphs for a video titled {title}."
    tags: Text = "List 10 to 15 YouTube tags, comma separated, for a video titled {title}."
    # A long video: {minutes} and {chapters} in the plan; {number}, {count}, {chapter}, {summary}, {words},
    # {outline} and {previous} (the last lines before it) in each chapter.
    chapter_outline: Text = (
        "Plan a {minutes}-minute documentary for YouTube about {topic} in {chapters} chapters, as JSON: title, "
        "description, tags, and chapters, each with a short title and a one-line summary. The first chapter hooks "
        "the viewer with the story's central question; the last one answers it."
    )
    chapter: Text = (
        "Write chapter {number} of {count}, \"{chapter}\" ({summary}), of a documentary about {topic}: about "
        "{words} words of narration in scenes of two to four spoken sentences, as JSON. Open the chapter with one "
        "line that poses its question. The whole plan: {outline}. The previous chapter ended: {previous}"
    )


class ChapterStyle(_Strict):
    """How a long video marks its chapters on screen."""

    card: Literal["title", "lower-third", "none"] = "title"  # a centred title card, a lower third, or nothing
    card_seconds: float = Field(3.0, ge=1.0, le=8.0)
    font_size: int = Field(120, ge=24, le=200)
    lower_thirds: bool = True  # show "[1941-09-08, Leningrad]" marks of the script as lower thirds


class OutlineGrowth(_Strict):
    """The preset's own lists for growing a long outline; an empty one keeps the bundled list."""

    questions: tuple[Text, ...] = ()  # a middle chapter's opening question, with {chapter} and {topic}
    subjects: tuple[Text, ...] = ()
    predicates: tuple[Text, ...] = ()
    views: tuple[Text, ...] = ()  # ways to see a chapter's picture again


class OutlineTemplates(_Strict):
    title: tuple[Text, ...] = Field(min_length=1)
    hook: SectionTemplate
    sections: tuple[SectionTemplate, ...] = Field(min_length=2)
    conclusion: SectionTemplate
    growth: OutlineGrowth = OutlineGrowth()


class YouTubeStyle(_Strict):
    """How the channel publishes: YouTube category, audience and extra tags."""

    category: str = Field("27", pattern=r"^\d{1,2}$")  # 27 Education, 28 Science & Technology, 24 Entertainment
    made_for_kids: bool = False
    tags: tuple[Text, ...] = ()
    synthetic_media: bool = True  # status.containsSyntheticMedia: our pictures and voices are generated
    # The channel (`videofactory youtube auth --channel NAME`) its videos are published to; None: the one
    # authorisation of `videofactory youtube auth`. A channel's calendar publishes to that channel whatever this says.
    channel: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")


class Preset(_Strict):
    """Everything that makes one channel's videos look and sound like that channel."""

    name: Text
    description: Text
    extends: str | None = None  # a preset whose settings this one starts from
    language: Language = "en"
    length: Length = "medium"  # target length when the job does not say
    minutes: int | None = Field(None, ge=1, le=60)  # a long video in chapters of about this many minutes by default
    exports: tuple[ExportProfile, ...] = ("youtube",)  # default exports
    voice: VoiceStyle = VoiceStyle()
    images: ImageStyle
    captions: CaptionStyle = CaptionStyle()
    effects: Effects = Effects()
    music: MusicStyle = MusicStyle()
    thumbnail: ThumbnailStyle = ThumbnailStyle()
    chapters: ChapterStyle = ChapterStyle()
    youtube: YouTubeStyle = YouTubeStyle()
    llm: LLMTemplates = LLMTemplates()
    outline: OutlineTemplates


def builtin_presets_dir() -> Path:
    """The `presets/` folder shipped beside the `engine` package.

    Found by path, not by importing `presets`: a folder of that name in the working directory
    (a user's own presets, say) would otherwise shadow the installed one.
    """
    return Path(__file__).resolve().parents[1] / "presets"


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PresetError(f"{path}: cannot read preset ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PresetError(f"{path}: not valid TOML ({error})") from None


def _merged(base: dict, override: dict) -> dict:
    """`base` with `override` laid over it, tables merged key by key."""
    result = dict(base)
    for key, value in override.items():
        result[key] = _merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
    return result


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    expected = first["msg"]
    if first["type"] == "extra_forbidden":
        expected = "unknown field (check its spelling)"
    elif first["type"] == "missing":
        expected = "required field is missing"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"field '{field}': {expected}{more}"


def load_preset_file(path: Path, user_dir: Path | None = None) -> Preset:
    """Parse and validate one preset file; errors name the file, the field and what was expected.

    A preset with `extends = "name"` starts from that preset (the user's or a built-in one) and
    changes only what it sets.
    """
    data = _read_toml(path)
    chain = [path]
    while isinstance(data.get("extends"), str):
        parent_name = data["extends"]
        parents = preset_files(user_dir)
        parent = parents.get(parent_name)
        if parent is None:
            known = ", ".join(sorted(parents)) or "none"
            raise PresetError(f"{path}: field 'extends': no preset named '{parent_name}'; known presets: {known}")
        if parent in chain:  # a user preset may extend the built-in one of the same name
            parent = builtin_presets_dir() / f"{parent_name}.toml"
            if parent in chain or not parent.is_file():
                raise PresetError(f"{path}: field 'extends': '{parent_name}' extends itself")
        chain.append(parent)
        parent_data = _read_toml(parent)
        data = _merged(parent_data, {k: v for k, v in data.items() if k != "extends"})
        if "extends" not in parent_data:
            data.pop("extends", None)
    try:
        return Preset.model_validate(data)
    except ValidationError as error:
        raise PresetError(f"{path}: {_describe(error)}") from None


def preset_files(user_dir: Path | None) -> dict[str, Path]:
    """Preset name -> file; a user's file overrides a built-in one of the same name."""
    found: dict[str, Path] = {}
    for folder in (builtin_presets_dir(), user_dir):
        if folder and folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return found


def load_preset(name: str, user_dir: Path | None) -> Preset:
    """The preset called `name`; an unknown name lists the known ones."""
    available = preset_files(user_dir)
    if name not in available:
        known = ", ".join(sorted(available)) or "none"
        raise PresetError(f"unknown preset '{name}'; known presets: {known}")
    return load_preset_file(available[name], user_dir)


def preset_descriptions(user_dir: Path | None) -> dict[str, str]:
    """Preset name -> its one-line description, for menus and lists (broken files left out)."""
    found = {}
    for name, path in preset_files(user_dir).items():
        try:
            found[name] = load_preset_file(path, user_dir).description
        except VideoFactoryError:
            continue  # a broken file is reported by `videofactory presets`; menus show the good ones
    return found
