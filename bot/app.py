"""The Telegram front end, wired: services built once, handlers registered, start and stop.

A thin layer over `engine`: handlers (one module per subject) turn what users send into requests for
the job runner, and the notifier tells each chat what the runner reports about its jobs.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import partial
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import (about, abtests, access, dashboard, jobs, making, plan, preferences, publishing, review, statistics,
                 thumbnails, tokens, uploads, voices)
from bot.errors import on_error
from bot.notifier import ChatNotifier
from bot.schedule import Schedule
from bot.services import ChatData, FactoryApplication, FactoryContext, Services
from engine.access import Access
from engine.config import Settings
from engine.errors import ConfigError
from engine.jobs import JobBook
from engine.planner import Planner
from engine.reach import Testers, channel_testers, youtube_tester
from engine.queue_runner import make_runner
from engine.store import open_store
from engine.web_logins import LoginBook
from engine.youtube import YouTube, credentials_file

log = logging.getLogger(__name__)

FLOOD_RETRIES = 3  # answers of 429 waited out (their retry_after) and sent again by PTB's rate limiter


def build_services(settings: Settings, youtube: Callable[[], YouTube] | None = None,
                   channel_youtube: Callable[[str], YouTube] | None = None) -> Services:
    """The engine's services for the bot; `youtube` and `channel_youtube` replace the real connections in tests."""
    store = open_store(settings)
    connect = youtube or (lambda: YouTube.connect(settings))
    runner = make_runner(settings, store, "telegram")
    channels = channel_youtube or (lambda name: YouTube.connect(settings, channel=name))
    by_channel = channel_testers(settings, store, channels)
    return Services(
        settings=settings, store=store, jobs=JobBook(store),
        runner=runner, access=Access.of(settings), youtube=connect,
        publish_ready=(lambda: True) if youtube else (lambda: credentials_file(settings).is_file()),
        testers=Testers(youtube_tester(settings, store, connect), by_channel),
        schedule=Schedule(settings, store), logins=LoginBook(store, settings.web_login_minutes),
        planner=Planner(settings, store, runner, channels, by_channel),
    )


def handlers() -> list[BaseHandler]:
    """Every handler, by what it answers."""
    return [
        CommandHandler(["start", "help"], about.on_help),
        CommandHandler("presets", about.on_presets),
        CommandHandler("new", making.on_new),
        CommandHandler("status", jobs.on_status),
        CommandHandler("jobs", jobs.on_jobs),
        CommandHandler("cancel", jobs.on_cancel),
        CommandHandler("settings", preferences.on_settings),
        CommandHandler("abtest", abtests.on_abtest),
        CommandHandler("stats", statistics.on_stats),
        CommandHandler("tokens", tokens.on_tokens),
        CommandHandler("dashboard", dashboard.on_dashboard),
        CommandHandler("plan", plan.on_plan),
        # Patterns take only what our keyboards make: crafted data falls through to `about.on_stale_button`.
        CallbackQueryHandler(making.on_preset, pattern=r"^preset:[\w.-]{1,64}$"),
        CallbackQueryHandler(making.on_pick, pattern=r"^pick$"),
        CallbackQueryHandler(making.on_go, pattern=r"^go:(-|short|medium|long|\d{1,2}m)$"),
        CallbackQueryHandler(thumbnails.on_approve, pattern=r"^thumb:\d{1,12}:[1-3]$"),
        CallbackQueryHandler(thumbnails.on_redesign, pattern=r"^regen:\d{1,12}$"),
        CallbackQueryHandler(publishing.on_publish, pattern=r"^pub:\d{1,12}:(private|unlisted|public)$"),
        CallbackQueryHandler(preferences.on_setting_menu, pattern=r"^set:(preset|language|captions|review)$"),
        CallbackQueryHandler(preferences.on_setting_value,
                             pattern=r"^setv:(preset|language|captions|voice|review):[\w.-]{1,64}$"),
        CallbackQueryHandler(review.on_review, pattern=r"^review:\d{1,12}:(ok|\d{1,3})$"),
        CallbackQueryHandler(plan.on_plan_button, pattern=r"^plan:\d{1,12}:(ok|hold)$"),
        CallbackQueryHandler(plan.on_idea_button, pattern=r"^idea:\d{1,12}$"),
        CallbackQueryHandler(voices.on_voice_menu, pattern=r"^voices$"),
        CallbackQueryHandler(voices.on_voice_sample, pattern=r"^vsample:[\w.-]{1,64}$"),
        CallbackQueryHandler(about.on_stale_button),
        MessageHandler(filters.Document.ALL, uploads.on_document),
        MessageHandler(filters.VOICE | filters.AUDIO, uploads.on_voice),
        MessageHandler(filters.TEXT & ~filters.COMMAND, making.on_topic),
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, about.on_anything_else),
    ]


def build_application(settings: Settings, request: BaseRequest | None = None, updates_request: BaseRequest | None = None,
                      youtube: Callable[[], YouTube] | None = None,
                      channel_youtube: Callable[[str], YouTube] | None = None) -> FactoryApplication:
    """The Application with every handler; `request` lets tests speak for Telegram, `youtube` (and each channel's
    `channel_youtube`) for YouTube."""
    if settings.telegram_token is None:
        raise ConfigError("VF_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set it")
    services = build_services(settings, youtube, channel_youtube)
    builder = (Application.builder().token(settings.telegram_token.get_secret_value()).concurrent_updates(True)
               .application_class(FactoryApplication, kwargs={"services": services})
               .context_types(ContextTypes(context=FactoryContext, chat_data=ChatData))
               .rate_limiter(AIORateLimiter(max_retries=FLOOD_RETRIES))
               .job_queue(None))  # one scheduler: bot.schedule's APScheduler, not a second one in PTB's JobQueue
    if settings.telegram_base_url:
        base = settings.telegram_base_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    if settings.telegram_local_mode:
        builder = builder.local_mode(True)
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    app: FactoryApplication = builder.build()  # type: ignore[assignment]
    app.notifier = ChatNotifier(services, app.bot, app.event_loop)
    services.runner.subscribe(app.notifier)
    # Group -1 runs first: a refused update never reaches a handler (buttons included, which filters cannot guard).
    app.add_handler(TypeHandler(Update, access.gate), group=-1)
    app.add_handlers(handlers())
    app.add_error_handler(on_error)
    app.post_init, app.post_shutdown = start, stop
    return app


async def start(app: Application) -> None:
    """On start: take up the jobs a previous run left, and arm the schedule from the database."""
    services: Services = app.services  # type: ignore[attr-defined]
    services.runner.start()
    # Partials of coroutine functions, not lambdas: APScheduler awaits what it knows to be a coroutine function.
    services.schedule.start(
        partial(abtests.check_tests, services, app.bot),
        partial(statistics.send_daily, services, app.bot),
        partial(statistics.send_missed, services, app.bot),
        partial(plan.run_planner, services, app.bot),
        partial(plan.watch_credentials, services, app.bot),
    )


async def stop(app: Application) -> None:
    """On stop: the schedule and the runner (a running job is taken up again at the next start)."""
    services: Services = app.services  # type: ignore[attr-defined]
    services.schedule.stop()
    services.runner.shutdown()


def run_bot(settings: Settings) -> int:
    """Start the bot: long polling, or a webhook server when VF_TELEGRAM_WEBHOOK_URL is set; runs until interrupted."""
    app = build_application(settings)
    if not app.services.access.allowed:
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
