"""After a video is made: approve one of its thumbnails, or design a new set from its other pictures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.cache import atomic_write_text, translate_os_errors
from engine.config import Settings
from engine.errors import InputError
from engine.fonts import BOLD_FILE, bold_font_dir
from engine.presets import load_preset
from engine.stages import thumbnails

APPROVED_NAME = "thumbnail.jpg"


def read_video_json(folder: Path, name: str = "job.json") -> dict:
    """One of a finished video's JSON files (job.json, script.json), or an InputError naming it."""
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{folder} is not a finished video's folder: its {name} is missing or broken") from None


def save_video_record(folder: Path, record: dict) -> None:
    """Write a finished video's job.json again, with what was added to it."""
    atomic_write_text(folder / "job.json", json.dumps(record, indent=2, ensure_ascii=False))


def approve_thumbnail(folder: Path, number: int) -> Path:
    """Make thumbnail `number` (1-3) the video's own: copied to thumbnail.jpg and named in job.json."""
    record = read_video_json(folder)
    chosen = folder / "thumbnails" / f"{number}.jpg"
    if not chosen.is_file():
        raise InputError(f"there is no thumbnail {number} in {folder / 'thumbnails'}")
    target = folder / APPROVED_NAME
    with translate_os_errors(str(folder)):
        shutil.copyfile(chosen, target.with_suffix(".part"))
        target.with_suffix(".part").replace(target)
    record["thumbnail"] = {"file": APPROVED_NAME, "design": number, "variant": record.get("thumbnail_variant", 0)}
    if APPROVED_NAME not in record.get("files", []):
        record.setdefault("files", []).append(APPROVED_NAME)
    save_video_record(folder, record)
    return target


def remake_thumbnails(folder: Path, settings: Settings) -> tuple[Path, ...]:
    """A new set of three thumbnails for a finished video: other pictures of it, each in another design."""
    record = read_video_json(folder)
    stills = [Path(p) for p in record.get("stills", []) if Path(p).is_file()]
    if not stills:
        raise InputError("the pictures of this video are no longer in the cache; make the video again to get new ones")
    title = read_video_json(folder, "script.json").get("title")
    if not title:
        raise InputError(f"{folder} is not a finished video's folder: its script.json has no title")
    preset = load_preset(record["inputs"]["preset"], settings.user_presets_dir)
    variant = int(record.get("thumbnail_variant", 0)) + 1
    font = bold_font_dir(settings.data_dir) / BOLD_FILE
    made = thumbnails.make_thumbnails(
        thumbnails.variant_picks(stills, variant), title, preset, font, folder / "thumbnails", variant
    )
    record["thumbnail_variant"] = variant
    save_video_record(folder, record)
    return made
