"""What every page may use, built once at start and handed in: the typed services of the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from engine.abtest import ABTester
from engine.config import Settings
from engine.jobs import JobBook
from engine.runner import JobRunner
from engine.store import Store
from engine.web_logins import LoginBook, SessionBook
from web.throttle import LoginThrottle


@dataclass(frozen=True)
class WebServices:
    """The engine's services for the dashboard."""

    settings: Settings
    store: Store
    jobs: JobBook
    runner: JobRunner
    logins: LoginBook
    sessions: SessionBook  # who is logged in: judged on the server at every request
    throttle: LoginThrottle  # how fast the password may be guessed
    tester: ABTester
    secret: str  # signs the session cookie and download links
