"""Sending to Telegram: network errors retried, uploads never sent twice, videos fitted to the upload limit.

Flood control (429 with retry_after) is PTB's AIORateLimiter's job, set up in bot.app; these helpers
handle what it does not: timeouts and dropped connections.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from PIL import Image
from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut

from bot.keyboards import thumbnails_keyboard
from engine.cache import translate_os_errors
from engine.media import probe, run_ffmpeg

T = TypeVar("T")

log = logging.getLogger(__name__)

UPLOAD_LIMIT_BYTES = 50 * 1000 * 1000  # the Bot API's limit, unless a local Bot API server is used
COVER_SIDE = 320  # the Bot API's limit for a video's thumbnail: a JPEG of at most 320 px a side…
COVER_BYTES = 200 * 1000  # …and 200 kB


class MaybeDelivered(Exception):
    """An upload timed out after it was sent: Telegram may have it, so it is not sent again."""


async def with_retries(call: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """A Telegram call retried through timeouts and network errors (never through a refusal)."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except (BadRequest, Forbidden):
            raise  # a request Telegram will never accept: retrying cannot help
        except (TimedOut, NetworkError):
            if attempt == attempts:
                raise
            await asyncio.sleep(min(30.0, 2.0 ** attempt))
    raise AssertionError("unreachable")


async def safely(action: Awaitable[object]) -> None:
    """Await a Telegram call whose failure must not stop the job (a progress edit, say)."""
    try:
        await action
    except TelegramError as error:
        log.info("Telegram refused an update: %s", error)


def fit_for_telegram(video: Path, limit_bytes: int, work: Path) -> Path:
    """`video` if it is small enough for the Bot API, else a copy re-encoded to fit (the original stays on disk)."""
    if video.stat().st_size <= limit_bytes:
        return video
    seconds = max(probe(video).duration, 1.0)
    # 90% of the limit, less 128 kbit/s of audio, spread over the video's length.
    video_kbps = max(150, int(limit_bytes * 8 * 0.9 / seconds / 1000) - 128)
    out = work / f"{video.stem}.telegram.mp4"
    run_ffmpeg(["-i", str(video), "-c:v", "libx264", "-preset", "veryfast", "-b:v", f"{video_kbps}k",
                "-maxrate", f"{video_kbps}k", "-bufsize", f"{video_kbps * 2}k", "-vf", "scale=-2:'min(720,ih)'",
                "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(out)], what=f"a smaller copy of {video.name}")
    return out


def cover_for_telegram(thumbnail: Path) -> bytes:
    """A thumbnail as the Bot API takes a video's cover: a JPEG of at most 320 px a side and 200 kB."""
    with Image.open(thumbnail) as opened:
        image = opened.convert("RGB")
    image.thumbnail((COVER_SIDE, COVER_SIDE), Image.LANCZOS)
    for quality in (85, 70, 55, 40):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= COVER_BYTES:
            break
    return buffer.getvalue()


async def say(bot: Bot, chat: int, text: str) -> None:
    """A message to a chat, retried through network trouble; its failure never stops what sends it."""
    await safely(with_retries(lambda: bot.send_message(chat, text)))


async def unless_sent(call: Callable[[], Awaitable[T]], what: str, attempts: int = 4) -> T:
    """An upload retried only while it cannot have reached Telegram: a connection that failed is tried again, a
    timeout (the request went out, no answer came) is not, since a second try could post it twice."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except TimedOut:
            raise MaybeDelivered(what) from None
        except NetworkError:
            if attempt == attempts:
                raise
            await asyncio.sleep(min(30.0, 2.0 ** attempt))
    raise AssertionError("unreachable")


async def send_thumbnails(bot: Bot, chat: int, job_id: int, paths: tuple[Path, ...]) -> None:
    """The thumbnails as one album, then buttons to approve one or design a new set.

    An album that timed out is not sent again (MaybeDelivered); the buttons still come, since they act on files.
    """
    photos = [InputMediaPhoto(path.read_bytes(), caption=f"Thumbnail {k}") for k, path in enumerate(paths, 1)]
    try:
        await unless_sent(lambda: bot.send_media_group(chat, photos), "the thumbnails")
    finally:
        await with_retries(lambda: bot.send_message(chat, "Which thumbnail should the video use?",
                                                    reply_markup=thumbnails_keyboard(job_id, len(paths))))


async def send_video(bot: Bot, chat: int, original: Path, cover: Path | None, local_mode: bool, work: Path,
                     shown_as: str | None = None, full_link: str | None = None) -> None:
    """A video with its duration, size, cover and streaming; over the limit, a smaller copy and the full path.

    An upload that times out is not sent again (Telegram may have it): MaybeDelivered says so.
    """
    if not local_mode:
        with translate_os_errors(str(work)):
            work.mkdir(parents=True, exist_ok=True)
    video = original if local_mode else await asyncio.to_thread(fit_for_telegram, original, UPLOAD_LIMIT_BYTES, work)
    if video != original:
        where = (f"download the full file here: {full_link}" if full_link
                 else f"the full file is {shown_as or original.name} in the output folder")
        await with_retries(lambda: bot.send_message(
            chat, f"{original.name} is over Telegram's 50 MB: here is a smaller copy; {where}."))
    info = await asyncio.to_thread(probe, video)
    # A local Bot API server reads the file from disk; the public one gets bytes, which a retry re-sends whole.
    movie: Path | bytes = video if local_mode else video.read_bytes()
    thumbnail = cover_for_telegram(cover) if cover is not None and cover.is_file() else None
    try:
        await bot.send_video(
            chat, movie, duration=round(info.duration), width=info.width, height=info.height,
            thumbnail=thumbnail, supports_streaming=True, caption=original.name, filename=video.name,
            read_timeout=600, write_timeout=600,
        )
    except (TimedOut, NetworkError):
        # Sent, perhaps whole, with no answer: a second try could post the video twice.
        raise MaybeDelivered(original.name) from None
