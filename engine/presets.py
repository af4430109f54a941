"""Channel presets: TOML files validated by a schema, built-in ones overridable by the user's."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from engine.errors import PresetError
from engine.models import CaptionKind, Mood

HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Text = Annotated[str, StringConstraints(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VoiceStyle(_Strict):
    piper: str = "joe"  # "joe" (the bundled voice) or a path to a Piper .onnx file
    speed: float = Field(1.0, gt=0.3, le=3.0)


class ImageStyle(_Strict):
    palette: tuple[HexColour, ...] = Field(min_length=3)
    prompt_prefix: str = ""
    prompt_suffix: str = ""


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
    max_shot_seconds: float = Field(8.0, ge=2.0, le=30.0)
    grain: float = Field(0.04, ge=0.0, le=0.3)
    vignette: float = Field(0.5, ge=0.0, le=1.0)


class MusicStyle(_Strict):
    volume_db: float = Field(-18.0, ge=-40.0, le=0.0)
    ducking_db: float = Field(-10.0, ge=-30.0, le=0.0)


class ThumbnailStyle(_Strict):
    accent: HexColour = "#E02020"
    text: HexColour = "#FFFFFF"


class SectionTemplate(_Strict):
    name: Text
    mood: Mood
    narration: tuple[Text, ...] = Field(min_length=1)  # alternatives; one is picked per topic
    prompt: Text


class OutlineTemplates(_Strict):
    title: tuple[Text, ...] = Field(min_length=1)
    hook: SectionTemplate
    sections: tuple[SectionTemplate, ...] = Field(min_length=2)
    conclusion: SectionTemplate


class Preset(_Strict):
    """Everything that makes one channel's videos look and sound like that channel."""

    name: Text
    description: Text
    language: str = "en"
    voice: VoiceStyle = VoiceStyle()
    images: ImageStyle
    captions: CaptionStyle = CaptionStyle()
    effects: Effects = Effects()
    music: MusicStyle = MusicStyle()
    thumbnail: ThumbnailStyle = ThumbnailStyle()
    outline: OutlineTemplates


def builtin_presets_dir() -> Path:
    """The `presets/` folder shipped with the package."""
    return Path(str(files("presets")))


def load_preset_file(path: Path) -> Preset:
    """Parse and validate one preset file; errors name the file, the field and what was expected."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PresetError(f"{path}: cannot read preset ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PresetError(f"{path}: not valid TOML ({error})") from None
    try:
        return Preset.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise PresetError(f"{path}: field '{field}': {first['msg']}{more}") from None


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
    return load_preset_file(available[name])
