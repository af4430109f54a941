"""Make a video: a form with topic, preset, length, language, captions, and an optional script or voice-over."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from engine.errors import InputError, VideoFactoryError
from engine.jobs import Origin
from engine.media import probe
from engine.models import CAPTION_KINDS, JobRequest
from engine.text import without_paths
from engine.presets import preset_descriptions
from engine.stages.longform import minutes_of
from engine.stages.script import MAX_SCRIPT_BYTES, read_script_file
from engine.stages.voice import voiceover_too_long
from web.auth import Viewer, checked_upload, viewer
from web.pages import page, services_of

router = APIRouter()
MAX_RECORDING_BYTES = 1000 * 1000 * 1000  # an hour of uncompressed audio, and then some
LARGEST_UPLOAD = MAX_SCRIPT_BYTES + MAX_RECORDING_BYTES + 64 * 1024  # the form's body: both files and its fields
LENGTHS = ("short", "medium", "long", "10m", "20m", "30m")  # "20m": a 20-minute video in chapters
CHUNK = 1 << 20


def preset_choices(request: Request) -> dict[str, str]:
    """Preset name -> its description (broken files left out)."""
    return preset_descriptions(services_of(request).settings.user_presets_dir)


async def _keep(upload: UploadFile, folder: Path, suffix: str, limit: int) -> Path:
    """An uploaded file written to the inputs folder in pieces, refused past `limit` bytes (and then deleted)."""
    folder.mkdir(parents=True, exist_ok=True)
    path, written = folder / f"{secrets.token_hex(8)}{suffix}", 0
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise InputError(f"{upload.filename} is over {limit // 1_000_000} MB")
            out.write(chunk)
    return path


async def _checked_recording(request: Request, path: Path, name: str) -> None:
    try:
        seconds = (await asyncio.to_thread(probe, path)).duration
    except VideoFactoryError:
        raise InputError(f"{name} cannot be read as audio: send an mp3, m4a, ogg or wav file") from None
    limit = services_of(request).settings.max_voiceover_minutes * 60
    if seconds > limit:
        raise InputError(voiceover_too_long(seconds, limit))


async def _inputs(request: Request, form: dict[str, object], folder: Path,
                  kept: list[tuple[str, Path]]) -> tuple[Path | None, Path | None]:
    """The script file and the voice-over, checked as the bot checks them (type, size, duration); `kept` gets
    each file written, under the name the user gave it."""
    script = voiceover = None
    upload = form.get("script_file")
    if isinstance(upload, UploadFile) and upload.filename:
        script = await _keep(upload, folder, ".txt", MAX_SCRIPT_BYTES)
        kept.append((upload.filename, script))
        await asyncio.to_thread(read_script_file, script)
    upload = form.get("voiceover")
    if isinstance(upload, UploadFile) and upload.filename:
        voiceover = await _keep(upload, folder, Path(upload.filename).suffix[:8] or ".audio", MAX_RECORDING_BYTES)
        kept.append((upload.filename, voiceover))
        await _checked_recording(request, voiceover, upload.filename)
    return script, voiceover


def _forget(kept: list[tuple[str, Path]], error: VideoFactoryError) -> str:
    """Delete the files of a refused form; the message names each as the user did, never by our name for it."""
    message = str(error)
    for name, path in kept:
        path.unlink(missing_ok=True)
        message = message.replace(str(path), name)
    return without_paths(message)


def _request(form: dict[str, object], script: Path | None, voiceover: Path | None) -> JobRequest:
    topic = str(form.get("topic") or "").strip() or (script or voiceover or Path("video")).stem
    length, captions = str(form.get("length") or ""), str(form.get("captions") or "")
    return JobRequest(topic=topic, preset=str(form.get("preset") or ""), script_file=script, voiceover=voiceover,
                      length=length if length in ("short", "medium", "long") else None,
                      minutes=minutes_of(length), language=str(form.get("language") or "") or None,
                      caption_style=captions if captions in CAPTION_KINDS else None,  # type: ignore[arg-type]
                      review=False)  # the pictures are reviewed from the chat; the dashboard shows the made video


@router.get("/make", response_class=HTMLResponse)
async def make_page(request: Request, seen: Viewer = Depends(viewer)) -> Response:
    """The form."""
    presets = await asyncio.to_thread(preset_choices, request)
    return page(request, "make.html", {"presets": presets, "lengths": LENGTHS, "captions": CAPTION_KINDS, "message": ""})


@router.post("/make")
async def make(request: Request, seen: Viewer = Depends(viewer)) -> Response:
    """Check the form and its files, submit the job as the bot does, and show it."""
    form = await checked_upload(request)
    services, kept = services_of(request), []
    folder = services.settings.data_dir / "web" / "inputs" / str(seen.user_id or "admin")
    try:
        script, voiceover = await _inputs(request, form, folder, kept)
        job = await asyncio.to_thread(services.runner.submit, _request(form, script, voiceover),
                                      Origin("web", seen.user_id))
    except VideoFactoryError as error:
        message = _forget(kept, error)
        presets = await asyncio.to_thread(preset_choices, request)
        return page(request, "make.html", {"presets": presets, "lengths": LENGTHS, "captions": CAPTION_KINDS,
                                           "message": message}, status=400)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
