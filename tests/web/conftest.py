"""The dashboard under test: real services over a temporary database, a runner that records, a logged-in client."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engine.config import Settings, load_settings
from engine.jobs import JobBook, Origin
from engine.models import JobRequest
from engine.pipeline import prepare
from engine.tables import Job
from web.app import build_services, create_app
from web.services import WebServices

USER, OTHER = 1001, 1002
PASSWORD = "correct horse battery staple"


@dataclass
class RecordingRunner:
    """A JobRunner that saves jobs as the real one does and records what it was asked, without running them."""

    settings: Settings
    book: JobBook
    cancelled: list[int] = field(default_factory=list)

    def submit(self, request: JobRequest, origin: Origin) -> Job:
        prepared = prepare(request, self.settings)
        return self.book.create(prepared.request, prepared.preset, prepared.slug, origin, self.settings.output_dir)

    def cancel(self, job_id: int) -> bool:
        self.cancelled.append(job_id)
        return self.book.cancel(job_id)

    def start(self) -> list[Job]:
        return []

    def shutdown(self) -> None:
        pass


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", web_password=PASSWORD,
                         web_url="https://factory.example.com", telegram_admins="9999",
                         telegram_allowed=f"{USER},{OTHER}")


@pytest.fixture
def services(web_settings: Settings) -> WebServices:
    made = build_services(web_settings)
    return build_services(web_settings, runner=RecordingRunner(web_settings, made.jobs))  # type: ignore[arg-type]


@pytest.fixture
def client(services: WebServices) -> TestClient:
    return TestClient(create_app(services), base_url="https://testserver", follow_redirects=False)


def csrf(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page of this session carries."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: TestClient, services: WebServices, user: int | None, admin: bool = False) -> None:
    """A session for this user: through a one-time link, or the password for the admin without a user."""
    if user is None:
        answer = client.post("/login", data={"password": PASSWORD, "csrf": csrf(client)})
    else:
        answer = client.get(f"/login/{services.logins.issue(user, admin)}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"


@dataclass
class Running:
    """The dashboard served by uvicorn in a thread, as `videofactory web` serves it (web.app.server_config)."""

    server: object
    thread: object
    url: str

    def stop(self) -> None:
        """Ask it to stop and wait for its thread."""
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(10)  # type: ignore[attr-defined]


def serve_in_thread(app, settings: Settings) -> Running:  # noqa: ANN001 - an ASGI application
    """Serve `app` on a free local port until `stop`, with the server settings of `videofactory web`."""
    import threading
    import time

    import uvicorn

    from tests.conftest import free_port
    from web.app import server_config

    port = free_port()
    config = server_config(app, settings, "127.0.0.1", port)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return Running(server, thread, f"http://127.0.0.1:{port}")
