"""After a video is made: approve one of its thumbnails, or design a new set from its other pictures."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.cache import translate_os_errors
from engine.config import Settings
from engine.errors import InputError
from engine.fonts import BOLD_FILE, bold_font_dir
from engine.records import ApprovedThumbnail, read_manifest, read_script, write_manifest
from engine.stages import thumbnails

APPROVED_NAME = "thumbnail.jpg"


def approve_thumbnail(folder: Path, number: int) -> Path:
    """Make thumbnail `number` (1-3) the video's own: copied to thumbnail.jpg and named in job.json."""
    manifest = read_manifest(folder)
    chosen = folder / "thumbnails" / f"{number}.jpg"
    if not chosen.is_file():
        raise InputError(f"there is no thumbnail {number} in {folder / 'thumbnails'}")
    target = folder / APPROVED_NAME
    with translate_os_errors(str(folder)):
        shutil.copyfile(chosen, target.with_suffix(".part"))
        target.with_suffix(".part").replace(target)
    files = manifest.files if APPROVED_NAME in manifest.files else [*manifest.files, APPROVED_NAME]
    write_manifest(folder, manifest.model_copy(update={
        "thumbnail": ApprovedThumbnail(file=APPROVED_NAME, design=number, variant=manifest.thumbnail_variant),
        "files": files,
    }))
    return target


def approved_design(folder: Path) -> int:
    """The number (1-3) of the thumbnail the owner approved; 1 when none was."""
    approved = read_manifest(folder).thumbnail
    return approved.design if approved is not None else 1


def remake_thumbnails(folder: Path, settings: Settings) -> tuple[Path, ...]:
    """A new set of three thumbnails for a finished video: other pictures of it, each in another design."""
    manifest = read_manifest(folder)
    stills = [Path(p) for p in manifest.stills if Path(p).is_file()]
    if not stills:
        raise InputError("the pictures of this video are no longer in the cache; make the video again to get new ones")
    title = read_script(folder).title
    if not title:
        raise InputError(f"{folder} is not a finished video's folder: its script.json has no title")
    preset = manifest.preset(settings.user_presets_dir)
    variant = manifest.thumbnail_variant + 1
    font = bold_font_dir(settings.data_dir) / BOLD_FILE
    made = thumbnails.make_thumbnails(
        thumbnails.variant_picks(stills, variant), title, preset, font, folder / "thumbnails", variant
    )
    write_manifest(folder, manifest.model_copy(update={"thumbnail_variant": variant}))
    return made
