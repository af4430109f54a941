"""What every handler may use, built once at start and handed in: the typed `Services` and the context that carries them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from telegram.ext import Application, CallbackContext, ExtBot

from bot.schedule import Schedule
from engine.abtest import ABTester
from engine.access import Access
from engine.config import Settings
from engine.jobs import JobBook
from engine.planner import Planner
from engine.presets import preset_descriptions
from engine.reach import Testers
from engine.runner import JobRunner
from engine.store import Store
from engine.web_logins import LoginBook
from engine.youtube import YouTube

T = TypeVar("T")


async def off_loop(call: Callable[..., T], *args: object, **kwargs: object) -> T:
    """A blocking call (the database, files) in a thread: the bot keeps answering other chats while it waits."""
    return await asyncio.to_thread(call, *args, **kwargs)


@dataclass(frozen=True)
class Services:
    """The engine's services the bot talks to."""

    settings: Settings
    store: Store
    jobs: JobBook  # reading jobs; changing them goes through the runner
    runner: JobRunner
    access: Access
    youtube: Callable[[], YouTube]  # connects (and may refresh the authorisation over the network)
    publish_ready: Callable[[], bool]  # whether YouTube is authorised, so the Publish buttons can work
    testers: Testers  # A/B testers: the one authorisation's and each channel's
    schedule: Schedule
    logins: LoginBook  # one-time links to the web dashboard
    planner: Planner  # the channels' content calendar

    @property
    def tester(self) -> ABTester:
        """The A/B tester of the one authorisation (`videofactory youtube auth`)."""
        return self.testers.default

    def presets(self) -> dict[str, str]:
        """Preset name -> one-line description, for keyboards and lists (broken files left out)."""
        return preset_descriptions(self.settings.user_presets_dir)

    @property
    def inputs_dir(self) -> Path:
        """Where files users send are kept, so a queued job can use them after a restart."""
        return self.settings.data_dir / "bot" / "inputs"


@dataclass
class Draft:
    """A video being asked for in a chat, before it is queued."""

    topic: str | None = None
    preset: str | None = None
    script_file: Path | None = None
    voiceover: Path | None = None


@dataclass
class ChatData:
    """What the bot keeps per chat between two messages."""

    draft: Draft = field(default_factory=Draft)


class FactoryApplication(Application):
    """python-telegram-bot's Application with the factory's services attached."""

    def __init__(self, *, services: Services, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.services = services
        self.loop: asyncio.AbstractEventLoop | None = None
        self.notifier: Callable[[object], None] | None = None  # bot.notifier.ChatNotifier, set when built

    async def initialize(self) -> None:
        """Start up, noting the event loop: the runner's worker threads hand their news over to it."""
        self.loop = asyncio.get_running_loop()
        await super().initialize()

    def event_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the application runs in."""
        if self.loop is None:
            raise RuntimeError("the application is not initialised")
        return self.loop


class FactoryContext(CallbackContext[ExtBot, dict, ChatData, dict]):
    """The context every handler gets: `services` and a typed `chat_data`."""

    @property
    def services(self) -> Services:
        """The services built at start."""
        return self.application.services  # type: ignore[attr-defined]

    @property
    def draft(self) -> Draft:
        """This chat's video in the making."""
        return self.chat_data.draft  # type: ignore[union-attr]
