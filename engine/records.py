"""A finished video's own records, `job.json` and `script.json`: typed, with one reader and one writer each."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.cache import atomic_write_text
from engine.errors import InputError
from engine.models import ChapterMark, Mood, Motion, Script, Timeline
from engine.presets import Preset, load_preset

MANIFEST_NAME = "job.json"
CREDITS_NAME = "credits.txt"
SCRIPT_NAME = "script.json"


class _Record(BaseModel):
    # Fields a newer release added survive a read and a write by this one.
    model_config = ConfigDict(extra="allow")


class ManifestInputs(_Record):
    """What the job was asked to make, resolved."""

    topic: str
    preset: str
    length: str | None = None
    minutes: int | None = None
    voice: str | None = None
    script_file: str | None = None
    voiceover: str | None = None
    fresh: bool = False
    language: str | None = None
    caption_style: str | None = None
    exports: list[str] = []


class ApprovedThumbnail(_Record):
    """The thumbnail chosen for the video: its file, its design number and the set it came from."""

    file: str
    design: int
    variant: int = 0


class YouTubeRecord(_Record):
    """Where the video went on YouTube."""

    video_id: str
    url: str
    privacy: str
    publish_at: datetime | None = None
    captions_id: str | None = None
    requested: str = ""  # the privacy asked for
    # The upload is recorded at once; captions and thumbnail are settled after it (done, or given up for a reason
    # nobody can fix by trying again). A record written before they existed counts as settled.
    captions_settled: bool = True
    thumbnail_settled: bool = True
    problems: list[str] = []  # what could not be done, in a sentence each

    @property
    def finished(self) -> bool:
        """Whether nothing is left to do for this upload."""
        return self.captions_settled and self.thumbnail_settled


class JobManifest(_Record):
    """job.json: inputs, the preset as it was, backends, seconds per stage, files; then approval and upload."""

    videofactory: str = ""
    job_id: int | None = None
    created: datetime | None = None
    inputs: ManifestInputs
    preset_snapshot: Preset | None = None  # None in folders of release 0.1: the preset is read by name
    backends: dict[str, str] = {}
    stage_seconds: dict[str, float] = {}
    total_seconds: float = 0.0
    video_seconds: float = 0.0
    files: list[str] = []
    stills: list[str] = []  # the cached pictures, for designing new thumbnails later
    thumbnail_variant: int = 0
    thumbnail: ApprovedThumbnail | None = None
    youtube: YouTubeRecord | None = None

    def preset(self, user_presets: Path | None) -> Preset:
        """The preset the video was made with: its snapshot, or (older folders) the preset of that name now."""
        return self.preset_snapshot or load_preset(self.inputs.preset, user_presets)


class ShotRecord(_Record):
    """One still's time on screen and its camera move."""

    start: float
    end: float
    motion: Motion


class SceneRecord(_Record):
    """One scene as written and as timed."""

    index: int = 0
    section: str = ""
    narration: str
    image_prompt: str = ""
    mood: Mood = "calm"
    chapter: int = 0
    lower_third: str = ""
    start: float | None = None
    end: float | None = None
    shots: list[ShotRecord] = []


class ChapterRecord(_Record):
    """One chapter: its title and where it starts and ends in the video."""

    title: str
    start: float
    end: float
    scene: int = 0  # its first scene


class CreditRecord(_Record):
    """A real picture the video uses: where it came from, its author and licence, and why the gate let it in."""

    shot: int
    source: str
    title: str = ""
    author: str = ""
    licence: str = ""
    licence_url: str = ""
    page: str = ""
    reason: str = ""
    footage: bool = False  # a stock video clip
    url: str = ""  # the file as fetched
    attribution_required: bool = True  # false only where the source says so (Commons' AttributionRequired)


class MusicRecord(_Record):
    """One mood segment of the music bed."""

    start: float
    end: float
    mood: Mood


class ScriptDocument(_Record):
    """script.json: the title and scenes with their times, what YouTube's title, description and tags come from."""

    title: str
    description: str = ""
    tags: list[str] = []
    topic: str = ""
    language: str = "en"
    source: str = ""
    duration: float = 0.0
    scenes: list[SceneRecord]
    chapters: list[ChapterRecord] = []
    credits: list[CreditRecord] = []
    music: list[MusicRecord] = []


def script_document(script: Script, plan: Timeline, music: list[MusicRecord],
                    chapters: tuple[ChapterMark, ...] = ()) -> ScriptDocument:
    """The script with each scene's, shot's and chapter's times from the timeline."""
    spans = dict(zip([s.index for s in script.scenes], plan.scene_spans))
    scenes = [SceneRecord(
        index=scene.index, section=scene.section, narration=scene.narration, image_prompt=scene.image_prompt,
        mood=scene.mood, chapter=scene.chapter, lower_third=scene.lower_third,
        start=round(spans[scene.index][0], 3) if scene.index in spans else None,
        end=round(spans[scene.index][1], 3) if scene.index in spans else None,
        shots=[ShotRecord(start=round(s.start, 3), end=round(s.end, 3), motion=s.motion)
               for s in plan.shots if s.scene == scene.index],
    ) for scene in script.scenes]
    return ScriptDocument(title=script.title, description=script.description, tags=list(script.tags),
                          topic=script.topic, language=script.language, source=script.source,
                          duration=round(plan.duration, 3), scenes=scenes, music=music,
                          chapters=[ChapterRecord(title=c.title, start=round(c.start, 3), end=round(c.end, 3),
                                                  scene=c.first_scene) for c in chapters])


def _read(folder: Path, name: str, model: type[_Record]) -> _Record:
    try:
        return model.model_validate_json((folder / name).read_bytes())
    except (OSError, ValidationError, ValueError):
        raise InputError(f"{folder} is not a finished video's folder: its {name} is missing or broken") from None


def read_manifest(folder: Path) -> JobManifest:
    """A finished video's job.json, or an InputError naming it."""
    return _read(folder, MANIFEST_NAME, JobManifest)  # type: ignore[return-value]


def write_manifest(folder: Path, manifest: JobManifest) -> None:
    """Write job.json (atomically)."""
    atomic_write_text(folder / MANIFEST_NAME, manifest.model_dump_json(indent=2, exclude_none=False))


def read_script(folder: Path) -> ScriptDocument:
    """A finished video's script.json, or an InputError naming it."""
    return _read(folder, SCRIPT_NAME, ScriptDocument)  # type: ignore[return-value]


def write_script(folder: Path, document: ScriptDocument) -> None:
    """Write script.json (atomically)."""
    atomic_write_text(folder / SCRIPT_NAME, document.model_dump_json(indent=2))
