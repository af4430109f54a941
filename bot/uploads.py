"""Files users send: a text document becomes the script, a voice or audio message the voice-over.

What cannot be used is refused with a plain sentence before anything is fetched where Telegram's own
figures tell (type, size, duration), and after fetching where only the file itself can (text, audio).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import Message, Update
from telegram.error import TelegramError

from bot.delivery import with_retries
from bot.making import offer
from bot.services import FactoryContext
from engine.errors import InputError, VideoFactoryError
from engine.media import probe
from engine.stages.script import MAX_SCRIPT_BYTES, check_topic, read_script_file
from engine.stages.voice import voiceover_too_long

log = logging.getLogger(__name__)

DOWNLOAD_LIMIT_BYTES = 20 * 1000 * 1000  # what getFile serves, unless a local Bot API server is used
LOCAL_DOWNLOAD_LIMIT_BYTES = 1000 * 1000 * 1000  # with one: an hour of uncompressed audio, and then some
SCRIPT_SUFFIXES = (".txt", ".md", ".text")


async def download(context: FactoryContext, file_id: str, unique: str, suffix: str, chat: int) -> Path:
    """A file the user sent, kept with the bot's data so a queued job can use it after a restart."""
    target = context.services.inputs_dir / str(chat) / f"{unique}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        telegram_file = await with_retries(lambda: context.bot.get_file(file_id))
        await with_retries(lambda: telegram_file.download_to_drive(target))
    except TelegramError as error:
        target.unlink(missing_ok=True)
        log.warning("could not fetch a file from Telegram: %s", error)
        raise InputError("I could not fetch that file from Telegram; please send it again") from None
    return target


async def refuse(message: Message, path: Path | None, text: str) -> None:
    """Say why a file cannot be used, and keep nothing of it."""
    if path is not None:
        path.unlink(missing_ok=True)
    await message.reply_text(f"⚠️ {text}")


def attach(context: FactoryContext, message: Message, path: Path, as_script: bool) -> None:
    """Put a received file into the chat's draft; its caption, if any, is the topic."""
    if as_script:
        context.draft.script_file = path
    else:
        context.draft.voiceover = path
    if message.caption:
        context.draft.topic = check_topic(message.caption[:500])


async def on_document(update: Update, context: FactoryContext) -> None:
    """A document: a text file becomes the script, an audio file the voice-over, anything else is refused."""
    message = update.effective_message
    document = message.document
    name, mime = document.file_name or "file", document.mime_type or ""
    if mime.startswith("audio/"):
        await take_voiceover(message, context, document.file_id, document.file_unique_id, document.file_size,
                             None, Path(name).suffix or ".audio")
        return
    if not (mime.startswith("text/") or name.lower().endswith(SCRIPT_SUFFIXES)):
        await refuse(message, None, f"{name} is not a text file ({mime or 'unknown type'}). Send your script as a .txt "
                     "file (UTF-8 text; blank lines between scenes), or a voice or audio message for the voice-over.")
        return
    if document.file_size is None or document.file_size > MAX_SCRIPT_BYTES:  # unknown: never fetched blind
        await refuse(message, None, f"{name} is over 1 MB (or does not say its size): a script for one video is "
                                    "far shorter.")
        return
    path = await download(context, document.file_id, document.file_unique_id, ".txt", update.effective_chat.id)
    try:
        text = read_script_file(path)
    except InputError as error:
        await refuse(message, path, str(error).replace(str(path), name))
        return
    attach(context, message, path, as_script=True)
    if not context.draft.topic:
        context.draft.topic = next(line.strip() for line in text.splitlines() if line.strip())[:100]
    await message.reply_text(f"📄 Script received: {len(text.split())} words.")
    await offer(message, context)


async def on_voice(update: Update, context: FactoryContext) -> None:
    """A voice or audio message: the voice-over."""
    message = update.effective_message
    sound = message.voice or message.audio
    suffix = ".ogg" if message.voice else Path(getattr(sound, "file_name", None) or "a.mp3").suffix
    duration = sound.duration.total_seconds() if hasattr(sound.duration, "total_seconds") else sound.duration
    await take_voiceover(message, context, sound.file_id, sound.file_unique_id, sound.file_size, duration, suffix)


async def take_voiceover(message: Message, context: FactoryContext, file_id: str, unique: str, size: int | None,
                         seconds: float | None, suffix: str) -> None:
    """Check, fetch and check again a recording; keep it as the draft's voice-over."""
    limit = context.services.settings.max_voiceover_minutes * 60
    if seconds is not None and seconds > limit:
        await refuse(message, None, voiceover_too_long(seconds, limit).capitalize() + ".")
        return
    local = context.services.settings.telegram_local_mode
    if size is None or size > (LOCAL_DOWNLOAD_LIMIT_BYTES if local else DOWNLOAD_LIMIT_BYTES):
        await refuse(message, None, f"I can fetch recordings up to {'1 GB' if local else '20 MB'} (this one is bigger, "
                                    "or does not say its size); send a shorter or more compressed one (a voice "
                                    "message is ideal).")
        return
    path = await download(context, file_id, unique, suffix, message.chat_id)
    try:
        heard = (await asyncio.to_thread(probe, path)).duration
    except VideoFactoryError:
        await refuse(message, path, "I cannot read that audio. Send a voice message, or an mp3, m4a, ogg or wav file.")
        return
    if heard > limit:
        await refuse(message, path, voiceover_too_long(heard, limit).capitalize() + ".")
        return
    attach(context, message, path, as_script=False)
    await message.reply_text(f"🎙 Voice-over received: {heard:.0f} s. The words on screen will follow it.")
    await offer(message, context)
