"""`videofactory shots FOLDER [--replace N …]`: a made video's shots, where each picture came from, a contact sheet,
and the same video again with some shots' pictures replaced by their next candidates."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.config import Settings
from engine.errors import InputError
from engine.fonts import BOLD_FILE, bold_font_dir
from engine.records import JobManifest, ScriptDocument, read_manifest, read_script
from engine.review import (REVIEW_NAME, SHEET_NAME, ShotSource, contact_sheet, read_review, replaced, shot_lines,
                           shot_source)


def shot_sources(manifest: JobManifest, script: ScriptDocument) -> list[ShotSource]:
    """Each shot's picture and where it came from, as the video's records say."""
    credits = {credit.shot: credit for credit in script.credits}
    painter = manifest.backends.get("images", "").split("+")[-1] or "procedural"
    return [shot_source(Path(path), credits.get(k), painter) for k, path in enumerate(manifest.stills)]


def _waiting(folder: Path) -> int:
    """A job paused for its review: its shots as the chat was shown them."""
    review, _ = read_review(folder)
    print("\n".join(review.lines))
    print(f"contact sheet: {review.sheet}\nthis job waits for its review in the chat that asked for it")
    return 0


def _cmd_shots(args: argparse.Namespace, settings: Settings) -> int:
    folder = Path(args.folder)
    if not (folder / "job.json").is_file():
        if (folder / REVIEW_NAME).is_file():
            return _waiting(folder)
        raise InputError(f"{folder} is not a video's folder (no job.json)")
    manifest, script = read_manifest(folder), read_script(folder)
    if args.replace:  # like `make`: the new video's folder first, then its files
        return _remake(manifest, {credit.shot + 1: credit.url for credit in script.credits if credit.url},
                       sorted(set(args.replace)), settings)
    shots = shot_sources(manifest, script)
    print("\n".join(shot_lines(shots)))
    sheet = contact_sheet(shots, bold_font_dir(settings.data_dir) / BOLD_FILE, folder / SHEET_NAME)
    print(f"contact sheet: {sheet}")
    return 0


def _remake(manifest: JobManifest, urls: dict[int, str], numbers: list[int], settings: Settings) -> int:
    """The same video as a new job, these shots' pictures avoided; everything else comes from the cache."""
    from engine.cli import BarProgress, follow, open_store
    from engine.jobs import LOCAL, Origin, request_of
    from engine.runner import EmbeddedRunner

    runner = EmbeddedRunner(settings, open_store(settings))
    try:
        job = runner.book.get(manifest.job_id) if manifest.job_id is not None else None
        if job is None:
            raise InputError("this video's job is not in the database any more: it cannot be made again")
        request = replaced(request_of(job), urls, numbers).model_copy(update={"fresh": False, "review": False})
        with BarProgress() as progress:
            runner.subscribe(progress.on_event)
            again = runner.submit(request, Origin(LOCAL))
            return follow(runner, int(again.id), progress)  # type: ignore[arg-type]
    finally:
        runner.shutdown()


def add_shot_commands(commands: argparse._SubParsersAction) -> None:
    """`shots`."""
    shots = commands.add_parser("shots", help="each shot of a made video, its picture's source, and a contact sheet")
    shots.add_argument("folder", help="the video's folder (output/<slug>-<job>)")
    shots.add_argument("--replace", type=int, action="append", metavar="N", default=[],
                       help="make the video again with shot N's real picture replaced by its next candidate "
                            "(repeatable); the new video gets its own folder, the old one stays")
    shots.set_defaults(handler=_cmd_shots)
