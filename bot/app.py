"""The Telegram front end: topics in, progress and thumbnails in chat, the video out.

A thin layer over `engine`: handlers parse what the user sends and queue a `JobRequest`; jobs
run in a worker thread, outside the event loop, so the bot keeps answering while it renders.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlmodel import Field, Session, SQLModel, select

from engine.cache import translate_os_errors
from engine.config import Settings
from engine.errors import ConfigError, VideoFactoryError
from engine.models import JobRequest
from engine.store import Store, utcnow

T = TypeVar("T")

log = logging.getLogger(__name__)

UPLOAD_LIMIT_BYTES = 50 * 1000 * 1000  # the Bot API's limit, unless a local Bot API server is used
PROGRESS_EVERY = 3.0  # seconds between edits of a progress message: well inside Telegram's limits
MAX_JOBS_PER_CHAT = 2
HELP = (
    "I turn a topic into a finished video: script, narration, subtitles, pictures, music and thumbnails.\n\n"
    "Send me a topic (for example: The Siege of Leningrad), or /new, then pick a channel preset.\n"
    "/presets lists the presets, /status shows what is running, /jobs your latest videos, /cancel stops yours; "
    "/help shows this again."
)


def allowed_ids(settings: Settings) -> set[int]:
    """User and chat IDs from VF_TELEGRAM_ALLOWED (comma separated); empty means nobody."""
    ids: set[int] = set()
    for part in settings.telegram_allowed.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(f"VF_TELEGRAM_ALLOWED: '{part}' is not a Telegram user or chat ID") from None
    return ids


@dataclass
class ChatProgress:
    """Turns the engine's progress calls into one message, edited in place and never too often."""

    post: Callable[[str], None]
    every: float = PROGRESS_EVERY
    last: float = 0.0
    stages: dict[str, tuple[float, str]] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)
    stage_began: float = field(default_factory=time.monotonic)

    def _show(self, stage: str, done: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        total, unit = self.stages.get(stage, (1.0, "step"))
        share = min(1.0, done / total) if total else 1.0
        eta = ""
        if 0 < share < 1:  # the stage's own pace so far, projected over what is left of it
            eta = f", about {(now - self.stage_began) * (1 - share) / share:.0f} s left in this step"
        self.post(f"⏳ {stage}: {done:g}/{total:g} {unit} ({share:.0%}){eta}; {now - self.began:.0f} s so far")

    def started(self, stage: str, total: float, unit: str) -> None:
        """A stage began."""
        self.stages[stage] = (total, unit)
        self.stage_began = time.monotonic()
        self._show(stage, 0)

    def advanced(self, stage: str, done: float) -> None:
        """A stage moved on."""
        self._show(stage, done)

    def finished(self, stage: str) -> None:
        """A stage ended."""
        total, _ = self.stages.get(stage, (1.0, "step"))
        self._show(stage, total)


class BotJob(SQLModel, table=True):
    """A video a chat asked for, kept so a restarted bot can finish it."""

    __tablename__ = "bot_jobs"
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(index=True)
    request_json: str
    status_message_id: int | None = None
    state: str = "queued"  # queued, running, done, failed, cancelled
    created: datetime = Field(default_factory=utcnow)
    error: str | None = None


class JobCancelled(VideoFactoryError):
    """The chat asked to stop the job; what is finished stays in the cache."""


class JobRunner:
    """Runs video jobs one at a time in a worker thread, and reports back into the event loop."""

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.settings = settings
        with translate_os_errors(str(settings.data_dir)):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.resolved_database_url)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="video-job")
        self.queued: dict[int, int] = {}  # chat -> jobs queued or running
        self._count = threading.Lock()  # the loop adds jobs, worker threads take them off
        self.cancelled: set[int] = set()  # bot job ids to stop
        self.current: dict[int, str] = {}  # chat -> what its running job is doing

    def unfinished(self) -> list[BotJob]:
        """Jobs a previous run of the bot queued or started and did not finish."""
        with Session(self.store.engine) as session:
            return list(session.exec(select(BotJob).where(BotJob.state.in_(("queued", "running")))))  # type: ignore[attr-defined]

    def jobs_of(self, chat: int, limit: int = 10) -> list[BotJob]:
        """A chat's latest jobs, newest first."""
        with Session(self.store.engine) as session:
            rows = session.exec(select(BotJob).where(BotJob.chat_id == chat).order_by(BotJob.id.desc()).limit(limit))  # type: ignore[union-attr]
            return list(rows)

    def position(self) -> int:
        """How many jobs are ahead of a new one."""
        return sum(self.queued.values())

    def submit(
        self, job: BotJob, loop: asyncio.AbstractEventLoop, progress: ChatProgress,
        done: Callable[[object | None, str | None], Awaitable[None]],
    ) -> BotJob:
        """Queue a job (saved first, so a restart can finish it); `done(artefacts, error)` runs in the loop."""
        from engine.pipeline import make_video, request_from_json

        job = self.store.add(job)  # type: ignore[assignment]
        chat = job.chat_id
        with self._count:
            self.queued[chat] = self.queued.get(chat, 0) + 1
        request = request_from_json(job.request_json)
        hook = _Cancellable(progress, lambda: job.id in self.cancelled, lambda text: self.current.__setitem__(chat, text))

        def work() -> None:
            artefacts, problem = None, None
            job.state = "running"
            self.store.add(job)
            try:
                if job.id in self.cancelled:
                    raise JobCancelled("cancelled before it started")
                artefacts = make_video(request, self.settings, hook)
                job.state = "done"
            except JobCancelled:
                job.state, problem = "cancelled", "Cancelled; what was finished is kept, so asking again is quicker."
            except VideoFactoryError as error:
                job.state, problem = "failed", str(error)
            except Exception:  # the chat gets a plain message; the log gets the details
                log.exception("job for chat %s failed", chat)
                job.state, problem = "failed", "something went wrong on our side; the details are in the bot's log"
            job.error = problem
            self.store.add(job)
            self.current.pop(chat, None)
            try:
                asyncio.run_coroutine_threadsafe(done(artefacts, problem), loop).result()
            except Exception:
                log.exception("could not deliver the job of chat %s", chat)
            finally:
                with self._count:
                    self.queued[chat] -= 1  # counted until delivered

        def guarded() -> None:
            try:
                work()
            except BaseException:  # an executor swallows what escapes a task: it must reach the log
                log.exception("the job thread of chat %s stopped", chat)
                raise

        self.pool.submit(guarded)
        return job


class _Cancellable:
    """A progress hook that also stops the job, between two items, once the chat cancels it."""

    def __init__(self, inner: ChatProgress, stop: Callable[[], bool], note: Callable[[str], None]) -> None:
        self.inner, self.stop, self.note = inner, stop, note

    def _check(self) -> None:
        if self.stop():
            raise JobCancelled("cancelled")

    def started(self, stage: str, total: float, unit: str) -> None:
        """A stage began."""
        self._check()
        self.note(f"{stage} (0/{total:g} {unit})")
        self.inner.started(stage, total, unit)

    def advanced(self, stage: str, done: float) -> None:
        """A stage moved on."""
        self._check()
        total, unit = self.inner.stages.get(stage, (1.0, "step"))
        self.note(f"{stage} ({done:g}/{total:g} {unit})")
        self.inner.advanced(stage, done)

    def finished(self, stage: str) -> None:
        """A stage ended."""
        self.inner.finished(stage)


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


async def _safely(action: Awaitable[object]) -> None:
    """Await a Telegram call whose failure must not stop the job (a progress edit, say)."""
    from telegram.error import TelegramError

    try:
        await action
    except TelegramError as error:
        log.info("Telegram refused an update: %s", error)


def build_application(settings: Settings, request=None, updates_request=None):  # noqa: ANN001, ANN201 - PTB types
    """The python-telegram-bot Application with every handler; `request` lets tests speak for Telegram."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

    from engine.pipeline import request_from_json, request_json
    from engine.presets import load_preset_file, preset_files
    from engine.stages.script import check_topic

    if settings.telegram_token is None:
        raise ConfigError("VF_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set it")
    allowed = allowed_ids(settings)
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

    async def permitted(update: Update) -> bool:
        user = update.effective_user.id if update.effective_user else None
        chat = update.effective_chat.id if update.effective_chat else None
        if user in allowed or chat in allowed:
            return True
        if update.callback_query:
            await update.callback_query.answer("This bot is private.")
        elif update.effective_message:
            await update.effective_message.reply_text(
                "Sorry, this bot is private. Ask its owner to add your ID "
                f"({user}) to VF_TELEGRAM_ALLOWED."
            )
        return False

    def presets() -> dict[str, str]:
        found = {}
        for name, path in preset_files(settings.user_presets_dir).items():
            try:
                found[name] = load_preset_file(path, settings.user_presets_dir).description
            except VideoFactoryError:
                continue
        return found

    async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await permitted(update):
            await update.effective_message.reply_text(HELP)

    async def on_presets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await permitted(update):
            await update.effective_message.reply_text("\n".join(f"• {n}: {d}" for n, d in presets().items()))

    async def on_new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await permitted(update):
            await update.effective_message.reply_text("What is the video about? Send me the topic.")

    async def on_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        try:
            topic = check_topic(update.effective_message.text or "")
        except VideoFactoryError as error:
            await update.effective_message.reply_text(f"⚠️ {error}")
            return
        context.chat_data["topic"] = topic
        keyboard = [[InlineKeyboardButton(f"{name} · {text[:40]}", callback_data=f"preset:{name}")]
                    for name, text in presets().items()]
        await update.effective_message.reply_text(
            f"«{topic}»: which channel preset?", reply_markup=InlineKeyboardMarkup(keyboard)
        )

    async def on_preset(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update):
            return
        await query.answer()
        topic = context.chat_data.get("topic")
        chat = update.effective_chat.id
        if not topic:
            await query.edit_message_text("Send me the topic first.")
            return
        if runner.queued.get(chat, 0) >= MAX_JOBS_PER_CHAT:  # the limit per chat
            await query.edit_message_text(f"You already have {MAX_JOBS_PER_CHAT} videos in the queue; wait for one.")
            return
        name = query.data.split(":", 1)[1]
        ahead = runner.position()
        status = await query.edit_message_text(
            f"«{topic}» with {name}: queued" + (f", {ahead} job(s) ahead." if ahead else ", starting.")
        )
        request = JobRequest(topic=topic, preset=name)
        start_job(context.bot, BotJob(chat_id=chat, request_json=request_json(request),
                                      status_message_id=status.message_id))

    def start_job(bot, job: BotJob) -> None:  # noqa: ANN001 - PTB's Bot
        """Run a job in the worker thread, its progress edited into its status message."""
        loop = asyncio.get_running_loop()
        request = request_from_json(job.request_json)
        label = f"«{request.topic}» with {request.preset}"
        chat = job.chat_id

        def post(text: str) -> None:
            edit = bot.edit_message_text(f"{label}\n{text}", chat_id=chat, message_id=job.status_message_id)
            asyncio.run_coroutine_threadsafe(_safely(edit), loop)

        async def done(artefacts, problem: str | None) -> None:  # noqa: ANN001 - engine Artefacts
            text = f"{label}: the video could not be made. {problem}" if problem else f"{label}: ✅ done"
            await _safely(with_retries(lambda: bot.edit_message_text(text, chat_id=chat,
                                                                     message_id=job.status_message_id)))
            if artefacts is not None:
                await deliver(bot, chat, artefacts)

        runner.submit(job, loop, ChatProgress(post), done)

    async def deliver(bot, chat: int, artefacts) -> None:  # noqa: ANN001
        from engine.media import probe

        photos = [InputMediaPhoto(path.read_bytes(), caption=f"Thumbnail {k}") for k, path in
                  enumerate(artefacts.thumbnails, 1)]
        await with_retries(lambda: bot.send_media_group(chat, photos))
        buttons = [[InlineKeyboardButton(f"Use {k}", callback_data=f"thumb:{artefacts.folder.name}:{k}")
                    for k in range(1, len(artefacts.thumbnails) + 1)]]
        await with_retries(lambda: bot.send_message(chat, "Which thumbnail should the video use?",
                                                    reply_markup=InlineKeyboardMarkup(buttons)))
        for original in (artefacts.video, *artefacts.exports):
            video = original if settings.telegram_local_mode else await asyncio.to_thread(
                fit_for_telegram, original, UPLOAD_LIMIT_BYTES, artefacts.folder)
            if video != original:
                await with_retries(lambda original=original: bot.send_message(
                    chat, f"{original.name} is over Telegram's 50 MB: here is a smaller copy; "
                          f"the full file is at {original}"))
            info = probe(video)
            movie, cover = video.read_bytes(), artefacts.thumbnails[0].read_bytes()  # bytes: a retry re-sends them whole
            await with_retries(lambda movie=movie, info=info, name=video.name: bot.send_video(
                chat, movie, duration=round(info.duration), width=info.width, height=info.height,
                thumbnail=cover, supports_streaming=True, caption=name, filename=name,
                read_timeout=600, write_timeout=600,
            ))

    async def on_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await permitted(update):
            return
        chat = update.effective_chat.id
        doing = runner.current.get(chat)
        waiting = runner.queued.get(chat, 0) - (1 if doing else 0)
        text = f"Working on it: {doing}." if doing else "Nothing is running for you right now."
        if waiting > 0:
            text += f" {waiting} more queued; {runner.position()} job(s) in the whole queue."
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
        active = [row for row in runner.jobs_of(update.effective_chat.id) if row.state in ("queued", "running")]
        for row in active:
            runner.cancelled.add(row.id)  # type: ignore[arg-type]
        await update.effective_message.reply_text(
            f"Stopping {len(active)} job(s); finished parts stay cached." if active else "Nothing to cancel."
        )

    async def resume_unfinished(application: Application) -> None:
        """After a restart: tell each chat its video goes on, and go on from the cache."""
        for job in runner.unfinished():
            topic = request_from_json(job.request_json).topic
            await _safely(with_retries(lambda job=job, topic=topic: application.bot.send_message(
                job.chat_id, f"The bot restarted; «{topic}» continues from where it stopped.")))
            start_job(application.bot, job)

    app.bot_data["resume_unfinished"] = resume_unfinished
    app.post_init = resume_unfinished

    async def on_thumbnail(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if not await permitted(update):
            return
        _, slug, number = query.data.split(":")
        context.chat_data.setdefault("thumbnails", {})[slug] = int(number)
        await query.answer(f"Thumbnail {number} chosen")
        await query.edit_message_text(f"Thumbnail {number} is the one. ✅")

    app.add_handler(CommandHandler(["start", "help"], on_help))
    app.add_handler(CommandHandler("presets", on_presets))
    app.add_handler(CommandHandler("new", on_new))
    app.add_handler(CommandHandler("status", on_status))
    app.add_handler(CommandHandler("jobs", on_jobs))
    app.add_handler(CommandHandler("cancel", on_cancel))
    app.add_handler(CallbackQueryHandler(on_preset, pattern=r"^preset:"))
    app.add_handler(CallbackQueryHandler(on_thumbnail, pattern=r"^thumb:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_topic))
    return app


def run_bot(settings: Settings) -> int:
    """Start the bot with long polling until interrupted."""
    app = build_application(settings)
    if not allowed_ids(settings):
        log.warning("VF_TELEGRAM_ALLOWED is empty: the bot will refuse everyone")
    app.run_polling()
    return 0
