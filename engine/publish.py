"""Publish a finished video: upload with its script's title and description, captions and thumbnail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.config import Settings
from engine.errors import InputError
from engine.records import ChapterRecord, CreditRecord, YouTubeRecord, read_manifest, read_script, write_manifest
from engine.stages import longform
from engine.stages.sources import MODIFIED, credit_block, credits_fit
from engine.text import without_angle_brackets
from engine.thumbnail_choice import APPROVED_NAME
from engine.youtube import PRIVACY, AuthError, VideoMeta, YouTube, YouTubeError, retriable

TITLE_CHARS = 100
DESCRIPTION_BYTES = 5000
TAG_CHARS = 500  # YouTube's limit on all tags together


@dataclass(frozen=True)
class Published:
    """Where the video went."""

    video_id: str
    url: str
    privacy: str  # as YouTube set it, which may not be what was asked
    captions_id: str | None
    requested: str = ""  # the privacy asked for
    scheduled: bool = False  # private until its publishing time, by design
    problems: tuple[str, ...] = ()  # captions or thumbnail that could not be set, in a sentence each

    @property
    def locked_private(self) -> bool:
        """YouTube made private a video asked to be public or unlisted now (an unaudited API project)."""
        return self.privacy == "private" and self.requested not in ("", "private") and not self.scheduled


MIN_CHAPTER_SECONDS = 10  # YouTube's rules for showing chapters: the first at 00:00, three or more, each 10 s or longer


def _timestamp(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def chapter_list(chapters: list[ChapterRecord], duration: float) -> list[str]:
    """The description's chapter lines, as YouTube shows them; none where YouTube would not.

    A chapter shorter than 10 s joins the one before it (the first starts at 00:00 whatever its time).
    """
    kept: list[tuple[float, str]] = []
    for chapter in chapters:
        start = 0.0 if not kept else chapter.start
        if kept and start - kept[-1][0] < MIN_CHAPTER_SECONDS:
            continue
        kept.append((start, chapter.title))
    if kept and duration - kept[-1][0] < MIN_CHAPTER_SECONDS:
        kept.pop()
    if len(kept) < longform.MIN_CHAPTERS:
        return []
    return [f"{_timestamp(start)} {' '.join(title.split())}" for start, title in kept]


def _fitted(text: str, chapters: list[str], credits: list[CreditRecord] | None = None) -> str:
    """The description text cut to what YouTube takes, the chapter list and picture credits kept whole after it.

    Credits too long for the description were put on screen at the end of the video by the render: the
    description says so (never pointing at a file on our disk that nobody can read).
    """
    tail = "\n\nChapters:\n" + "\n".join(chapters) if chapters else ""
    if credits:
        sources = ", ".join(sorted({c.source for c in credits}))
        tail += credit_block(credits) if credits_fit(credits) else (
            f"\n\nPictures: {len(credits)} from {sources}; each picture's author, source and licence are shown at "
            f"the end of the video. {MODIFIED}")
    room = DESCRIPTION_BYTES - len(tail.encode("utf-8"))
    return text.encode("utf-8")[:max(0, room)].decode("utf-8", "ignore").rstrip() + tail


def video_meta(folder: Path, settings: Settings, privacy: str, publish_at: datetime | None = None) -> VideoMeta:
    """Title, description, tags, category and language for YouTube, from the script and the preset as it was."""
    script = read_script(folder)
    manifest = read_manifest(folder)
    preset = manifest.preset(settings.user_presets_dir)  # the snapshot: a preset edited since changes nothing
    title = " ".join(without_angle_brackets(script.title or manifest.inputs.topic).split())
    description = without_angle_brackets(script.description or script.scenes[0].narration)
    chapters = [without_angle_brackets(line) for line in chapter_list(script.chapters, script.duration)]
    description = _fitted(description, chapters, script.credits)
    tags, used = [], 0
    for tag in (*script.tags, *preset.youtube.tags):
        tag = without_angle_brackets(tag).strip()
        cost = len(tag) + (2 if " " in tag else 0) + (1 if tags else 0)  # YouTube counts quotes and commas
        if tag and tag not in tags and used + cost <= TAG_CHARS:
            tags.append(tag)
            used += cost
    return VideoMeta(title=title[:TITLE_CHARS] or "Video", description=description, tags=tuple(tags),
                     category=preset.youtube.category, language=script.language or preset.language,
                     privacy=privacy, publish_at=publish_at, made_for_kids=preset.youtube.made_for_kids,
                     synthetic_media=preset.youtube.synthetic_media)


def publish_channel(folder: Path, settings: Settings) -> str | None:
    """The channel a made video goes to when published by hand: its preset's `youtube.channel` (None: the default)."""
    return read_manifest(folder).preset(settings.user_presets_dir).youtube.channel


def publish(
    folder: Path, settings: Settings, youtube: YouTube, privacy: str = "private", publish_at: datetime | None = None,
    progress: Callable[[float], None] = lambda share: None, now: datetime | None = None,
) -> Published:
    """Upload the master, its captions and its approved thumbnail (or the first); recorded in job.json.

    `now` is the clock a scheduled time is checked against (the planner's, so a test can set it).
    """
    if privacy not in PRIVACY:
        raise InputError(f"privacy is one of {', '.join(PRIVACY)}, not '{privacy}'")
    video = folder / "video.mp4"
    if not video.is_file():
        raise InputError(f"{folder} has no video.mp4 to publish")
    meta = video_meta(folder, settings, privacy, publish_at)
    uploaded = read_manifest(folder).youtube
    if uploaded is not None and uploaded.finished:
        raise InputError(f"this video is already on YouTube: {uploaded.url}")
    if uploaded is None:
        answer = youtube.upload(video, meta, progress, now)
        # Recorded at once, so a failure below never leads to a second upload of the same video.
        uploaded = YouTubeRecord(video_id=answer.video_id, url=f"https://youtu.be/{answer.video_id}",
                                 privacy=answer.privacy, publish_at=meta.publish_at, requested=privacy,
                                 captions_settled=False, thumbnail_settled=False)
        _record(folder, uploaded)
    uploaded = finish_upload(folder, youtube, uploaded, meta.language)
    return Published(uploaded.video_id, uploaded.url, uploaded.privacy, uploaded.captions_id, uploaded.requested,
                     uploaded.publish_at is not None, tuple(uploaded.problems))


def finish_upload(folder: Path, youtube: YouTube, uploaded: YouTubeRecord, language: str) -> YouTubeRecord:
    """The captions and thumbnail of an uploaded video, each recorded as it is settled.

    A refusal that trying again cannot mend (a channel not verified for custom thumbnails, captions refused) is
    kept as a problem and the upload goes on; a quota, a rate limit, YouTube's own trouble or a refused
    authorisation is raised, and the next try starts from what is recorded, never uploading again.
    """
    if not uploaded.captions_settled:
        srt = folder / "subtitles.srt"
        captions_id, problem = _settled(lambda: youtube.add_captions(uploaded.video_id, srt, language)
                                        if srt.is_file() else None)
        uploaded = _record(folder, uploaded.model_copy(update={
            "captions_id": captions_id, "captions_settled": True, "problems": uploaded.problems + problem}))
    if not uploaded.thumbnail_settled:
        thumbnail = folder / APPROVED_NAME
        chosen = thumbnail if thumbnail.is_file() else folder / "thumbnails" / "1.jpg"
        _, problem = _settled(lambda: youtube.set_thumbnail(uploaded.video_id, chosen))
        uploaded = _record(folder, uploaded.model_copy(update={
            "thumbnail_settled": True, "problems": uploaded.problems + problem}))
    return uploaded


def _settled(call: Callable[[], object]) -> tuple[object, list[str]]:
    try:
        return call(), []
    except YouTubeError as error:
        if retriable(error) or isinstance(error, AuthError):
            raise
        return None, [str(error)]


def _record(folder: Path, uploaded: YouTubeRecord) -> YouTubeRecord:
    manifest = read_manifest(folder)  # approval may have written it meanwhile
    write_manifest(folder, manifest.model_copy(update={"youtube": uploaded}))
    return uploaded
