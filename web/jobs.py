"""Jobs: the queue and running ones with live progress, finished ones with their files; cancel and retry."""

from __future__ import annotations

import asyncio
import json
import os
from functools import partial
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from engine.errors import VideoFactoryError
from engine.jobs import JobState, Origin, files_folder, request_of
from engine.tables import Job
from engine.text import without_paths
from engine.web_logins import read_download
from web.auth import Forbidden, Viewer, checked_form, viewer
from web.pages import page, services_of

router = APIRouter()
LISTED = 50  # finished jobs shown
WAITING = (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED)
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov")
SHOWN_SUFFIXES = (".mp4", ".srt", ".vtt", ".jpg", ".png", ".json", ".txt", ".ass", ".m4a", ".wav")


class NotFound(Exception):
    """A job or file that does not exist, or is not the visitor's to see (the same answer for both)."""


def _visible(request: Request, seen: Viewer, job_id: int) -> Job:
    job = services_of(request).jobs.get(job_id)
    if job is None or not seen.may_see(job.chat_id):
        raise NotFound
    return job


def _jobs(request: Request, seen: Viewer, states: tuple[JobState, ...] | None, limit: int | None) -> list[Job]:
    book = services_of(request).jobs
    chat = None if seen.admin else seen.user_id
    if not seen.admin and chat is None:
        return []
    return book.find(states=states, chat_id=chat, limit=limit, newest_first=states is None)


def progress_of(job: Job, admin: bool) -> dict[str, object]:
    """What the jobs page shows of a job as it runs: state, stage, share done, time left, and why it stopped
    (server paths in that sentence only for admins, as in the bot)."""
    share = 1.0 if job.state == JobState.DONE else (job.stage_done / job.stage_total if job.stage_total else 0.0)
    error = job.error or ""
    return {"id": job.id, "state": job.state, "stage": job.stage or "", "share": round(min(1.0, share), 3),
            "eta": round(job.eta_seconds) if job.eta_seconds is not None else None,
            "error": error if admin else without_paths(error)}


def master_first(files: list[Path]) -> list[Path]:
    """The videos among a job's files, the master (in the job's folder itself) before the exports."""
    return sorted((f for f in files if f.suffix in VIDEO_SUFFIXES), key=lambda f: (len(f.parts), f.as_posix()))


def _shown(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix.lower() in SHOWN_SUFFIXES


def files_of(job: Job, output_root: Path) -> list[Path]:
    """The job's finished files, relative to its folder: video, subtitles, exports, thumbnails, credits.

    Links are neither listed nor followed: a job's folder shows only what was made in it.
    """
    folder = files_folder(job, output_root)
    if job.state != JobState.DONE or folder is None:
        return []
    found = []
    for here, folders, names in os.walk(folder):  # does not go into linked folders
        folders[:] = [name for name in folders if not os.path.islink(os.path.join(here, name))]
        found += [Path(here, name).relative_to(folder) for name in names
                  if _shown(name) and not os.path.islink(os.path.join(here, name))]
    return sorted(found)


def servable(job: Job, output_root: Path, name: str) -> Path | None:
    """A finished job's file by its name in the folder; None for anything else (outside it, a link, hidden)."""
    folder = files_folder(job, output_root)
    parts = PurePosixPath(name).parts
    if job.state != JobState.DONE or folder is None or not parts or not _shown(parts[-1]) \
            or any(part in ("/", ".", "..") for part in parts):
        return None
    path = folder
    for part in parts:
        path = path / part
        if path.is_symlink():
            return None
    return path if path.is_file() else None


@router.get("/jobs", response_class=HTMLResponse)
async def jobs_page(request: Request, seen: Viewer = Depends(viewer)) -> Response:
    """Waiting and running jobs (their progress polled without reloading), then finished ones."""
    going = await asyncio.to_thread(_jobs, request, seen, WAITING, None)
    ended = [job for job in await asyncio.to_thread(_jobs, request, seen, None, LISTED + len(going))
             if job.state not in WAITING][:LISTED]
    root = services_of(request).settings.output_dir
    covers = await asyncio.to_thread(lambda: {job.id: cover_of(job, root) for job in ended})
    return page(request, "jobs.html", {"going": going, "ended": ended, "progress": partial(progress_of, admin=seen.admin),
                                       "covers": covers})


def cover_of(job: Job, output_root: Path) -> str | None:
    """The finished job's approved thumbnail (or its first), relative to its folder."""
    for name in ("thumbnail.jpg", f"thumbnails/{job.thumbnail or 1}.jpg"):
        if servable(job, output_root, name) is not None:
            return name
    return None


@router.get("/jobs/progress.json")
async def jobs_progress(request: Request, ids: str = "", seen: Viewer = Depends(viewer)) -> Response:
    """The progress of the listed jobs (comma-separated ids) that the visitor may see."""
    wanted = [int(part) for part in ids.split(",") if part.strip().isdigit()][:100]
    book = services_of(request).jobs
    rows = [job for job in await asyncio.to_thread(lambda: [book.get(i) for i in wanted])
            if job is not None and seen.may_see(job.chat_id)]
    root = services_of(request).settings.output_dir
    return JSONResponse([progress_of(job, seen.admin) | await asyncio.to_thread(_outputs, job, root) for job in rows])


def _outputs(job: Job, output_root: Path) -> dict[str, object]:
    """A finished job's files as links, so a page that watched it run can show them without reloading."""
    files = files_of(job, output_root)
    videos = master_first(files)
    return {"video": f"/jobs/{job.id}/files/{videos[0].as_posix()}" if videos else None,
            "files": [{"name": f.as_posix(), "url": f"/jobs/{job.id}/files/{f.as_posix()}"} for f in files]}


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: int, seen: Viewer = Depends(viewer)) -> Response:
    """One job: its progress or its files (the video playable here), and the time each stage took."""
    job, root = _visible(request, seen, job_id), services_of(request).settings.output_dir
    runs = await asyncio.to_thread(services_of(request).store.stage_runs, job_id)
    files = await asyncio.to_thread(files_of, job, root)
    videos = master_first(files)
    cover = await asyncio.to_thread(cover_of, job, root)
    return page(request, "job.html", {"job": job, "runs": runs, "files": files, "videos": videos,
                                      "thumbnail": cover, "progress": progress_of(job, seen.admin),
                                      "length": json.loads(job.request_json or "{}").get("length")})


@router.get("/jobs/{job_id}/files/{name:path}")
async def job_file(request: Request, job_id: int, name: str, seen: Viewer = Depends(viewer)) -> Response:
    """A file of a job, to view or download (a video streams: the browser asks by ranges)."""
    job = _visible(request, seen, job_id)
    return await asyncio.to_thread(_file_response, job, services_of(request).settings.output_dir, name)


def _file_response(job: Job, output_root: Path, name: str) -> Response:
    path = servable(job, output_root, name)
    if path is None:
        raise NotFound  # never a path outside the job's folder, nor through a link
    return FileResponse(path, filename=path.name if path.suffix not in VIDEO_SUFFIXES else None)


@router.post("/jobs/{job_id}/cancel")
async def cancel(request: Request, job_id: int, seen: Viewer = Depends(viewer)) -> Response:
    """Stop a job: a waiting one at once, a running one between two items."""
    await checked_form(request)
    _visible(request, seen, job_id)
    await asyncio.to_thread(services_of(request).runner.cancel, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/jobs/{job_id}/retry")
async def retry(request: Request, job_id: int, seen: Viewer = Depends(viewer)) -> Response:
    """Make a failed or cancelled job again: a new job with the same request, from the cache where it can."""
    await checked_form(request)
    job = _visible(request, seen, job_id)
    if job.state not in (JobState.FAILED, JobState.CANCELLED):
        raise Forbidden("only a failed or cancelled job can be made again")
    try:
        again = await asyncio.to_thread(services_of(request).runner.submit, request_of(job),
                                        Origin("web", job.chat_id))
    except VideoFactoryError as error:
        raise Forbidden(str(error)) from None
    return RedirectResponse(f"/jobs/{again.id}", status_code=303)


@router.get("/download/{token}")
async def download(request: Request, token: str) -> Response:
    """A file by an expiring link the bot sent."""
    services = services_of(request)
    named = read_download(services.secret, token, services.settings.web_download_hours)
    job = services.jobs.get(named[0]) if named is not None else None
    if job is None or named is None:
        raise NotFound
    return await asyncio.to_thread(_file_response, job, services.settings.output_dir, named[1])
