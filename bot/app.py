"""The Telegram front end: topics in, progress and thumbnails in chat, the video out.

A thin layer over `engine`: handlers parse what the user sends and queue a `JobRequest`; jobs
run in a worker thread (bot.jobs), outside the event loop, so the bot keeps answering while it renders.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from bot.delivery import safely, send_thumbnails, send_video, with_retries
from bot.jobs import BotJob, ChatProgress, ChatSettings, JobHooks, JobRunner
from bot.publishing import add_publishing, publish_keyboard
from bot.statistics import add_statistics
from engine.config import Settings
from engine.errors import ConfigError, InputError, VideoFactoryError
from engine.models import CAPTION_KINDS, JobRequest

log = logging.getLogger(__name__)

MAX_JOBS_PER_CHAT = 2
MAX_VOICEOVER_SECONDS = 30 * 60
MAX_SCRIPT_BYTES = 1_000_000
DOWNLOAD_LIMIT_BYTES = 20 * 1000 * 1000  # what getFile serves, unless a local Bot API server is used
LENGTHS = {"short": "Short (~1 min)", "medium": "Medium (~3 min)", "long": "Long (~8 min)"}
LANGUAGES = ("en", "ru", "de", "fr", "es", "it", "pt", "uk")
SCRIPT_SUFFIXES = (".txt", ".md", ".text")
HELP = (
    "I turn a topic into a finished video: script, narration, subtitles, pictures, music and thumbnails.\n\n"
    "Send me a topic (for example: The Siege of Leningrad), or /new, then pick a channel preset and a length.\n"
    "Your own script: send it as a .txt file. Your own voice: send a voice or audio message (up to 30 min).\n"
    "/presets lists the presets, /settings sets your defaults (preset, language, captions), "
    "/status shows what is running, /jobs your latest videos, /cancel stops yours, /abtest your thumbnail tests, "
    "/stats how the factory is doing (/stats daily 09:00 for a daily message); "
    "/help shows this again."
)


def id_list(value: str, name: str) -> set[int]:
    """Telegram user or chat IDs from a comma-separated setting; empty means none."""
    ids: set[int] = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(f"{name}: '{part}' is not a Telegram user or chat ID") from None
    return ids


def allowed_ids(settings: Settings) -> set[int]:
    """Who may use the bot: VF_TELEGRAM_ALLOWED and the admins."""
    return id_list(settings.telegram_allowed, "VF_TELEGRAM_ALLOWED") | id_list(settings.telegram_admins, "VF_TELEGRAM_ADMINS")


def build_application(settings: Settings, request=None, updates_request=None, youtube=None):
    """The python-telegram-bot Application with every handler; `request` lets tests speak for Telegram,
    `youtube` (a callable giving an engine.youtube.YouTube) for YouTube."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.error import TelegramError
    from telegram.ext import (
        Application,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    from engine.media import probe
    from engine.pipeline import check_language, request_from_json, request_json
    from engine.presets import load_preset_file, preset_files
    from engine.stages.script import check_topic, read_script_file
    from engine.thumbnail_choice import approve_thumbnail, remake_thumbnails
    from engine.youtube import YouTube, credentials_file

    if settings.telegram_token is None:
        raise ConfigError("VF_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set it")
    allowed = allowed_ids(settings)
    admins = id_list(settings.telegram_admins, "VF_TELEGRAM_ADMINS")
    builder = Application.builder().token(settings.telegram_token.get_secret_value()).concurrent_updates(True)
    if settings.telegram_base_url:
        base = settings.telegram_base_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    if settings.telegram_local_mode:
        builder = builder.local_mode(True)
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    app = builder.build()
    runner = JobRunner(settings)
    app.bot_data["runner"] = runner
    inputs_dir = settings.data_dir / "bot" / "inputs"

    def keyboard_of(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows])

    def is_admin(update: Update) -> bool:
        return bool(update.effective_user and update.effective_user.id in admins)

    async def permitted(update: Update) -> bool:
        user = update.effective_user.id if update.effective_user else None
        chat = update.effective_chat.id if update.effective_chat else None
        if user in allowed or chat in allowed:
            return True
        if update.callback_query:
            await update.callback_query.answer("This bot is private.")
        elif update.effective_message:
            await update.effective_message.reply_text(
                f"Sorry, this bot is private. Ask its owner to add your ID ({user}) to VF_TELEGRAM_ALLOWED."
            )
        return False

    def presets() -> dict[str, str]:
        found = {}
        for name, path in preset_files(settings.user_presets_dir).items():
            try:
                found[name] = load_preset_file(path, settings.user_presets_dir).description
            except VideoFactoryError:
                continue  # a broken file is reported by `videofactory presets`; the chat sees the good ones
        return found

    def draft_of(context: ContextTypes.DEFAULT_TYPE) -> dict:
        return context.chat_data.setdefault("draft", {})

    # --- commands -------------------------------------------------------------------------------

    async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await permitted(update):
            await update.effective_message.reply_text(HELP)

    async def on_presets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await permitted(update):
            await update.effective_message.reply_text("\n".join(f"• {n}: {d}" for n, d in presets().items()))

    async def on_new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await permitted(update):
            context.chat_data["draft"] = {}
            await update.effective_message.reply_text(
                "What is the video about? Send me the topic, or a .txt file with your script, "
                "or a voice message to narrate it yourself."
            )

    # --- a new video: topic, files, preset, length ----------------------------------------------

    def options(draft: dict) -> tuple[str, InlineKeyboardMarkup]:
        """The last step before the queue: the length, or go straight on."""
        own = [what for key, what in (("script_file", "your script"), ("voiceover", "your voice-over")) if draft.get(key)]
        text = f"«{draft['topic']}» with {draft['preset']}" + (f", using {' and '.join(own)}." if own else ".")
        rows = [[("▶ Make it", "go:-")]]
        if not own:  # your own script or voice sets the length itself
            text += "\nHow long? You may also send a .txt script or a voice message first."
            rows.append([(label, f"go:{length}") for length, label in LENGTHS.items()])
        rows.append([("Another preset", "pick")])
        return text, keyboard_of(rows)

    def preset_keyboard() -> InlineKeyboardMarkup:
        return keyboard_of([[(f"{name} · {text[:40]}", f"preset:{name}")] for name, text in presets().items()])

    async def offer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Ask for what the draft still lacks: the topic, the preset, or the length."""
        draft = draft_of(context)
        message = update.effective_message
        if not draft.get("topic"):
            await message.reply_text("Got it. Now send me the topic: it becomes the video's title.")
            return
        default = runner.settings_of(update.effective_chat.id).preset
        if not draft.get("preset") and default in presets():
            draft["preset"] = default
        if draft.get("preset"):
            text, keyboard = options(draft)
            await message.reply_text(text, reply_markup=keyboard)
        else:
            await message.reply_text(f"«{draft['topic']}»: which channel preset?", reply_markup=preset_keyboard())

    async def on_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        try:
            topic = check_topic(update.effective_message.text or "")
        except VideoFactoryError as error:
            await update.effective_message.reply_text(f"⚠️ {error}")
            return
        draft = draft_of(context)
        draft["topic"] = topic
        await offer(update, context)

    async def download(context: ContextTypes.DEFAULT_TYPE, file_id: str, unique: str, suffix: str, chat: int) -> Path:
        """A file the user sent, kept with the bot's data so a queued job can use it after a restart."""
        target = inputs_dir / str(chat) / f"{unique}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            telegram_file = await with_retries(lambda: context.bot.get_file(file_id))
            await with_retries(lambda: telegram_file.download_to_drive(target))
        except TelegramError as error:
            target.unlink(missing_ok=True)
            log.warning("could not fetch a file from Telegram: %s", error)
            raise InputError("I could not fetch that file from Telegram; please send it again") from None
        return target

    async def on_script(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A document: a text file becomes the script, an audio file the voice-over, anything else is refused."""
        if not await permitted(update):
            return
        message = update.effective_message
        document = message.document
        name = document.file_name or "file"
        mime = document.mime_type or ""
        if mime.startswith("audio/"):
            await take_voiceover(update, context, document.file_id, document.file_unique_id, document.file_size,
                                 None, Path(name).suffix or ".audio")
            return
        if not (mime.startswith("text/") or name.lower().endswith(SCRIPT_SUFFIXES)):
            await message.reply_text(
                f"⚠️ {name} is not a text file ({mime or 'unknown type'}). Send your script as a .txt file "
                "(UTF-8 text; blank lines between scenes), or a voice or audio message for the voice-over."
            )
            return
        if (document.file_size or 0) > MAX_SCRIPT_BYTES:
            await message.reply_text(f"⚠️ {name} is over 1 MB: a script for one video is far shorter.")
            return
        path = await download(context, document.file_id, document.file_unique_id, ".txt", update.effective_chat.id)
        try:
            text = read_script_file(path)
        except InputError as error:
            await refuse(message, path, str(error).replace(str(path), name))
            return
        draft = attach(context, message, "script_file", path)
        if not draft.get("topic"):
            first = next(line.strip() for line in text.splitlines() if line.strip())
            draft["topic"] = first[:100]
        await message.reply_text(f"📄 Script received: {len(text.split())} words.")
        await offer(update, context)

    async def refuse(message, path: Path | None, text: str) -> None:
        """Say why a file cannot be used, and keep nothing of it."""
        if path is not None:
            path.unlink(missing_ok=True)
        await message.reply_text(f"⚠️ {text}")

    def attach(context: ContextTypes.DEFAULT_TYPE, message, key: str, path: Path) -> dict:
        """Put a received file into the chat's draft; its caption, if any, is the topic."""
        draft = draft_of(context)
        draft[key] = str(path)
        if message.caption:
            draft["topic"] = check_topic(message.caption[:500])
        return draft

    def too_long(seconds: float) -> str:
        return f"That recording is {seconds / 60:.0f} minutes long; the limit is 30 minutes."

    async def take_voiceover(
        update: Update, context: ContextTypes.DEFAULT_TYPE, file_id: str, unique: str, size: int | None,
        seconds: float | None, suffix: str,
    ) -> None:
        message = update.effective_message
        if seconds is not None and seconds > MAX_VOICEOVER_SECONDS:
            await refuse(message, None, too_long(seconds))
            return
        if not settings.telegram_local_mode and (size or 0) > DOWNLOAD_LIMIT_BYTES:
            await refuse(message, None, "Telegram lets bots fetch files up to 20 MB; send a shorter or more "
                                        "compressed recording (a voice message is ideal).")
            return
        path = await download(context, file_id, unique, suffix, update.effective_chat.id)
        try:
            heard = (await asyncio.to_thread(probe, path)).duration
        except VideoFactoryError:
            await refuse(message, path, "I cannot read that audio. Send a voice message, or an mp3, m4a, ogg or wav file.")
            return
        if heard > MAX_VOICEOVER_SECONDS:
            await refuse(message, path, too_long(heard))
            return
        attach(context, message, "voiceover", path)
        await message.reply_text(f"🎙 Voice-over received: {heard:.0f} s. The words on screen will follow it.")
        await offer(update, context)

    async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        message = update.effective_message
        sound = message.voice or message.audio
        suffix = ".ogg" if message.voice else Path(getattr(sound, "file_name", None) or "a.mp3").suffix
        await take_voiceover(update, context, sound.file_id, sound.file_unique_id, sound.file_size,
                             sound.duration.total_seconds() if hasattr(sound.duration, "total_seconds") else sound.duration,
                             suffix)

    async def on_preset(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update):
            return
        await query.answer()
        draft = draft_of(context)
        if not draft.get("topic"):
            await query.edit_message_text("Send me the topic first.")
            return
        name = query.data.split(":", 1)[1]
        if name not in presets():
            await query.edit_message_text(f"The preset {name} is gone; pick another.", reply_markup=preset_keyboard())
            return
        draft["preset"] = name
        text, keyboard = options(draft)
        await query.edit_message_text(text, reply_markup=keyboard)

    async def on_pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update):
            return
        await query.answer()
        draft_of(context).pop("preset", None)
        await query.edit_message_text("Which channel preset?", reply_markup=preset_keyboard())

    async def on_go(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update):
            return
        await query.answer()
        draft = draft_of(context)
        chat = update.effective_chat.id
        if not draft.get("topic") or not draft.get("preset"):
            await query.edit_message_text("That choice has expired: send me the topic again.")
            return
        if runner.queued.get(chat, 0) >= MAX_JOBS_PER_CHAT:  # the limit per chat
            await query.edit_message_text(f"You already have {MAX_JOBS_PER_CHAT} videos in the queue; wait for one.")
            return
        length = query.data.split(":", 1)[1]
        mine = runner.settings_of(chat)
        request = JobRequest(
            topic=draft["topic"], preset=draft["preset"], length=length if length in LENGTHS else None,  # type: ignore[arg-type]
            script_file=Path(draft["script_file"]) if draft.get("script_file") else None,
            voiceover=Path(draft["voiceover"]) if draft.get("voiceover") else None,
            language=mine.language, caption_style=mine.caption_style,  # type: ignore[arg-type]
        )
        context.chat_data["draft"] = {}
        ahead = runner.position()
        status = await query.edit_message_text(
            f"«{request.topic}» with {request.preset}: queued" + (f", {ahead} job(s) ahead." if ahead else ", starting.")
        )
        start_job(context.bot, BotJob(chat_id=chat, request_json=request_json(request), status_message_id=status.message_id))

    # --- running and delivering ------------------------------------------------------------------

    def start_job(bot, job: BotJob) -> None:
        """Run a job in the worker thread, its progress edited into its status message."""
        loop = asyncio.get_running_loop()
        request = request_from_json(job.request_json)
        label = f"«{request.topic}» with {request.preset}"
        chat = job.chat_id
        covers: list[Path] = []

        def post(text: str) -> None:
            edit = bot.edit_message_text(f"{label}\n{text}", chat_id=chat, message_id=job.status_message_id)
            asyncio.run_coroutine_threadsafe(safely(edit), loop)

        async def ready(kind: str, paths: tuple[Path, ...]) -> None:
            sent = set((runner.job(job.id) or job).delivered.splitlines())  # type: ignore[arg-type]
            if kind == "thumbnails":
                covers[:] = list(paths)
                if f"thumbnails:{paths[0]}" not in sent:
                    await send_thumbnails(bot, chat, job.id, paths)  # type: ignore[arg-type]
                    runner.mark_delivered(job.id, Path(f"thumbnails:{paths[0]}"))  # type: ignore[arg-type]
                return
            for path in paths:
                if str(path) in sent:
                    continue  # sent before a restart
                await send_video(bot, chat, path, covers[0] if covers else None, settings.telegram_local_mode,
                                 settings.data_dir / "bot" / "copies" / str(job.id))
                runner.mark_delivered(job.id, path)  # type: ignore[arg-type]

        async def done(artefacts, problem: str | None) -> None:
            text = f"{label}: the video could not be made. {problem}" if problem else f"{label}: ✅ done"
            await safely(with_retries(lambda: bot.edit_message_text(text, chat_id=chat, message_id=job.status_message_id)))
            if artefacts is None:
                if problem and not problem.startswith("Cancelled"):
                    for admin in admins - {chat}:
                        await safely(with_retries(lambda admin=admin: bot.send_message(
                            admin, f"Job #{job.id} of chat {chat} failed: {problem}")))
                return
            await ready("video", (artefacts.video, *artefacts.exports))  # whatever was not sent early
            chosen = runner.job(job.id)  # type: ignore[arg-type]
            if chosen is not None and chosen.thumbnail:  # approved while the exports were still rendering
                await asyncio.to_thread(approve_thumbnail, artefacts.folder, chosen.thumbnail)

        runner.submit(job, loop, JobHooks(ChatProgress(post), ready, done))

    async def resume_unfinished(application: Application) -> None:
        """After a restart: tell each chat its video goes on, and go on from the cache."""
        for job in runner.unfinished():
            topic = request_from_json(job.request_json).topic
            await safely(with_retries(lambda job=job, topic=topic: application.bot.send_message(
                job.chat_id, f"The bot restarted; «{topic}» continues from where it stopped.")))
            start_job(application.bot, job)

    app.bot_data["resume_unfinished"] = resume_unfinished

    async def on_start(application: Application) -> None:
        await resume_unfinished(application)
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        scheduler = AsyncIOScheduler(timezone=timezone.utc)
        now = datetime.now(timezone.utc)  # first runs at once: whatever fell due while the bot was down
        scheduler.add_job(application.bot_data["abtest_tick"], "interval", minutes=settings.abtest_check_minutes,
                          id="abtests", next_run_time=now, max_instances=1, coalesce=True)
        scheduler.add_job(application.bot_data["stats_tick"], "interval", minutes=1, id="daily-stats",
                          next_run_time=now, max_instances=1, coalesce=True)
        scheduler.start()
        application.bot_data["scheduler"] = scheduler

    async def stop_schedule(application: Application) -> None:
        scheduler = application.bot_data.pop("scheduler", None)
        if scheduler is not None:
            scheduler.shutdown(wait=False)

    app.post_init = on_start
    app.bot_data["stop_schedule"] = stop_schedule

    async def stop_runner(application: Application) -> None:
        await stop_schedule(application)
        runner.shutdown()

    app.post_shutdown = stop_runner

    async def owned_job(update: Update) -> BotJob | None:
        """The job a button names, if this chat (or an admin) may touch it."""
        job = runner.job(int(update.callback_query.data.split(":")[1]))
        if job is None or (job.chat_id != update.effective_chat.id and not is_admin(update)):
            await update.callback_query.answer("That video is not yours.")
            return None
        return job

    async def on_thumbnail(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update) or (job := await owned_job(update)) is None:
            return
        number = int(query.data.split(":")[2])
        job.thumbnail = number
        runner.store.add(job)
        if job.state == "done" and job.folder:
            try:
                await asyncio.to_thread(approve_thumbnail, Path(job.folder), number)
            except VideoFactoryError as error:
                await query.answer(str(error)[:190], show_alert=True)
                return
        await query.answer(f"Thumbnail {number} chosen")
        if youtube is not None or credentials_file(settings).is_file():
            await query.edit_message_text(f"Thumbnail {number} is the one. ✅ Publish on YouTube?",
                                          reply_markup=publish_keyboard(job.id))  # type: ignore[arg-type]
        else:
            await query.edit_message_text(f"Thumbnail {number} is the one. ✅ (To publish from here, run "
                                          "`videofactory youtube auth` once on the bot's machine.)")

    async def on_regenerate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update) or (job := await owned_job(update)) is None:
            return
        if job.state != "done" or not job.folder:
            await query.answer("The video is still being finished; ask again in a moment.", show_alert=True)
            return
        await query.answer("Designing new thumbnails…")
        await query.edit_message_text("🔄 Designing three new thumbnails…")
        try:
            made = await asyncio.to_thread(remake_thumbnails, Path(job.folder), settings)
        except VideoFactoryError as error:
            await query.edit_message_text(f"⚠️ {error}")
            return
        await send_thumbnails(context.bot, job.chat_id, job.id, made)  # type: ignore[arg-type]

    # --- status, jobs, cancel, settings ----------------------------------------------------------

    async def on_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        chat = update.effective_chat.id
        doing = runner.current.get(chat)
        waiting = runner.queued.get(chat, 0) - (1 if doing else 0)
        text = f"Working on it: {doing}." if doing else "Nothing is running for you right now."
        if waiting > 0:
            text += f" {waiting} more queued; {runner.position()} job(s) in the whole queue."
        if is_admin(update):
            rows = [row for row in runner.jobs_of(None, limit=50) if row.state in ("queued", "running")]
            text += "\n\nEvery chat:\n" + ("\n".join(
                f"#{row.id} chat {row.chat_id}: {request_from_json(row.request_json).topic} ({row.state})"
                for row in reversed(rows)) or "the queue is empty")
        await update.effective_message.reply_text(text)

    async def on_jobs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        rows = runner.jobs_of(update.effective_chat.id)
        lines = [f"#{row.id} {request_from_json(row.request_json).topic}: {row.state}" for row in rows]
        await update.effective_message.reply_text("\n".join(lines) or "No videos yet: send me a topic.")

    async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        chat = update.effective_chat.id
        if context.args:
            try:
                job = runner.job(int(context.args[0].lstrip("#")))
            except ValueError:
                job = None
            if job is None or (job.chat_id != chat and not is_admin(update)):
                await update.effective_message.reply_text(f"There is no job {context.args[0]} of yours.")
                return
            active = [job] if job.state in ("queued", "running") else []
        else:
            active = [row for row in runner.jobs_of(chat) if row.state in ("queued", "running")]
        for row in active:
            runner.cancelled.add(row.id)  # type: ignore[arg-type]
        await update.effective_message.reply_text(
            f"Stopping {len(active)} job(s); finished parts stay cached." if active else "Nothing to cancel."
        )

    def settings_text(mine: ChatSettings) -> str:
        return ("Your defaults for new videos:\n"
                f"• preset: {mine.preset or 'ask each time'}\n"
                f"• language: {mine.language or 'the preset’s'}\n"
                f"• captions: {mine.caption_style or 'the preset’s'}")

    def settings_keyboard() -> InlineKeyboardMarkup:
        return keyboard_of([[("Preset", "set:preset"), ("Language", "set:language"), ("Captions", "set:captions")]])

    def apply_setting(chat: int, what: str, value: str | None) -> ChatSettings:
        """Check and save one default; an InputError names what is wrong."""
        mine = runner.settings_of(chat)
        if what == "preset":
            if value is not None and value not in presets():
                raise InputError(f"there is no preset '{value}'; /presets lists them")
            mine.preset = value
        elif what == "language":
            mine.language = check_language(value) if value is not None else None
        elif what == "captions":
            if value is not None and value not in CAPTION_KINDS:
                raise InputError(f"captions are one of: {', '.join(CAPTION_KINDS)}")
            mine.caption_style = value
        else:
            raise InputError("settings are: preset, language, captions")
        runner.store.add(mine)
        return mine

    async def on_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        chat = update.effective_chat.id
        mine = runner.settings_of(chat)
        if context.args:  # "/settings language ru", "/settings preset none"
            what, value = context.args[0].lower(), " ".join(context.args[1:]).strip()
            try:
                mine = apply_setting(chat, what, None if value.lower() in ("", "none", "default") else value)
            except InputError as error:
                await update.effective_message.reply_text(f"⚠️ {error}")
                return
        await update.effective_message.reply_text(settings_text(mine), reply_markup=settings_keyboard())

    async def on_setting_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update):
            return
        await query.answer()
        what = query.data.split(":", 1)[1]
        choices = {"preset": list(presets()), "language": list(LANGUAGES), "captions": list(CAPTION_KINDS)}[what]
        rows = [[(value, f"setv:{what}:{value}") for value in choices[k:k + 4]] for k in range(0, len(choices), 4)]
        rows.append([("ask each time" if what == "preset" else "the preset’s", f"setv:{what}:-")])
        await query.edit_message_text(f"Default {what}:", reply_markup=keyboard_of(rows))

    async def on_setting_value(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update):
            return
        _, what, value = query.data.split(":", 2)
        try:
            mine = apply_setting(update.effective_chat.id, what, None if value == "-" else value)
        except InputError as error:
            await query.answer(str(error)[:190], show_alert=True)
            return
        await query.answer("Saved")
        await query.edit_message_text(settings_text(mine), reply_markup=settings_keyboard())

    add_publishing(app, settings, runner, permitted, owned_job, is_admin,
                   youtube or (lambda: YouTube.connect(settings)))
    add_statistics(app, settings, runner, permitted)
    app.add_handler(CommandHandler(["start", "help"], on_help))
    app.add_handler(CommandHandler("presets", on_presets))
    app.add_handler(CommandHandler("new", on_new))
    app.add_handler(CommandHandler("status", on_status))
    app.add_handler(CommandHandler("jobs", on_jobs))
    app.add_handler(CommandHandler("cancel", on_cancel))
    app.add_handler(CommandHandler("settings", on_settings))
    app.add_handler(CallbackQueryHandler(on_preset, pattern=r"^preset:"))
    app.add_handler(CallbackQueryHandler(on_pick, pattern=r"^pick$"))
    app.add_handler(CallbackQueryHandler(on_go, pattern=r"^go:"))
    app.add_handler(CallbackQueryHandler(on_thumbnail, pattern=r"^thumb:\d+:\d$"))
    app.add_handler(CallbackQueryHandler(on_regenerate, pattern=r"^regen:\d+$"))
    app.add_handler(CallbackQueryHandler(on_setting_menu, pattern=r"^set:(preset|language|captions)$"))
    app.add_handler(CallbackQueryHandler(on_setting_value, pattern=r"^setv:"))
    app.add_handler(MessageHandler(filters.Document.ALL, on_script))
    app.add_handler(MessageHandler(filters.VOICE | filters.AUDIO, on_voice))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_topic))
    app.add_error_handler(on_error)
    return app


async def on_error(update: object, context) -> None:
    """A handler failed: the log gets the details, the chat a plain sentence (never a traceback or a secret)."""
    from telegram import Update

    log.error("a handler failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        problem = context.error if isinstance(context.error, VideoFactoryError) else "something went wrong on our side"
        await safely(context.bot.send_message(update.effective_chat.id, f"⚠️ {problem}"))


def run_bot(settings: Settings) -> int:
    """Start the bot: long polling, or a webhook server when VF_TELEGRAM_WEBHOOK_URL is set; runs until interrupted."""
    app = build_application(settings)
    if not allowed_ids(settings):
        log.warning("VF_TELEGRAM_ALLOWED is empty: the bot will refuse everyone")
    if settings.telegram_webhook_url:
        # Telegram sends the secret back with every update, so nobody else can post updates to the port.
        secret = (settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret
                  else secrets.token_urlsafe(32))
        app.run_webhook(
            listen=settings.telegram_webhook_listen, port=settings.telegram_webhook_port,
            url_path=urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
            webhook_url=settings.telegram_webhook_url, secret_token=secret,
        )
    else:
        app.run_polling()
    return 0
