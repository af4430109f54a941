"""Sending to Telegram: retried through flood control, videos fitted to the upload limit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

UPLOAD_LIMIT_BYTES = 50 * 1000 * 1000  # the Bot API's limit, unless a local Bot API server is used


def fit_for_telegram(video: Path, limit_bytes: int, work: Path) -> Path:
    """`video` if it is small enough for the Bot API, else a copy re-encoded to fit (the original stays on disk)."""
    from engine.media import probe, run_ffmpeg

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


async def with_retries(call: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """A Telegram call retried through flood control (its retry_after), timeouts and network errors."""
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            log.info("Telegram flood control: waiting %.0f s", seconds)
            if attempt == attempts:
                raise
            await asyncio.sleep(seconds)
        except (BadRequest, Forbidden):
            raise  # a request Telegram will never accept: retrying cannot help
        except (TimedOut, NetworkError):
            if attempt == attempts:
                raise
            await asyncio.sleep(min(30.0, 2.0 ** attempt))
    raise AssertionError("unreachable")


async def safely(action: Awaitable[object]) -> None:
    """Await a Telegram call whose failure must not stop the job (a progress edit, say)."""
    from telegram.error import TelegramError

    try:
        await action
    except TelegramError as error:
        log.info("Telegram refused an update: %s", error)


async def send_thumbnails(bot, chat: int, job_id: int, paths: tuple[Path, ...]) -> None:
    """The thumbnails as one album, then buttons to approve one or design a new set."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto

    photos = [InputMediaPhoto(path.read_bytes(), caption=f"Thumbnail {k}") for k, path in enumerate(paths, 1)]
    await with_retries(lambda: bot.send_media_group(chat, photos))
    buttons = [[InlineKeyboardButton(f"Use {k}", callback_data=f"thumb:{job_id}:{k}") for k in range(1, len(paths) + 1)],
               [InlineKeyboardButton("🔄 New designs", callback_data=f"regen:{job_id}")]]
    await with_retries(lambda: bot.send_message(chat, "Which thumbnail should the video use?",
                                                reply_markup=InlineKeyboardMarkup(buttons)))


async def send_video(bot, chat: int, original: Path, cover: Path | None, local_mode: bool, work: Path) -> None:
    """A video with its duration, size, cover and streaming; over the limit, a smaller copy and the full path."""
    from engine.cache import translate_os_errors
    from engine.media import probe

    if not local_mode:
        with translate_os_errors(str(work)):
            work.mkdir(parents=True, exist_ok=True)
    video = original if local_mode else await asyncio.to_thread(fit_for_telegram, original, UPLOAD_LIMIT_BYTES, work)
    if video != original:
        await with_retries(lambda: bot.send_message(
            chat, f"{original.name} is over Telegram's 50 MB: here is a smaller copy; the full file is at {original}"))
    info = probe(video)
    movie = video.read_bytes()  # bytes, not a file handle: a retry re-sends them whole
    thumbnail = cover.read_bytes() if cover is not None and cover.is_file() else None
    await with_retries(lambda: bot.send_video(
        chat, movie, duration=round(info.duration), width=info.width, height=info.height,
        thumbnail=thumbnail, supports_streaming=True, caption=original.name, filename=video.name,
        read_timeout=600, write_timeout=600,
    ))
