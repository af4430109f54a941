"""The dashboard's doors, tried through the running server (uvicorn on a free port, as `videofactory web` runs it)
with httpx, as an outsider would: the password, guessing, sessions, request size, files, paths and figures."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import pytest
from sqlmodel import Session, select

from engine.config import Settings, load_settings
from engine.jobs import JobState, Origin
from engine.models import JobRequest
from engine.pipeline import prepare
from engine.store import utcnow
from engine.tables import Job, WebSession
from engine.web_logins import Visitor
from tests.conftest import free_port
from tests.web.conftest import OTHER, PASSWORD, USER, Running, serve_in_thread
from web.app import build_services, create_app
from web.services import WebServices

ADMIN = 9999
TWO_GB = 2 * 1024**3


class BodyCounter:
    """Wraps the application as a server would see it: counts the request body's bytes the application read."""

    def __init__(self, app) -> None:
        self.app, self.read = app, 0

    async def __call__(self, scope, receive, send) -> None:
        async def counted():
            message = await receive()
            self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@dataclass
class Served:
    services: WebServices
    url: str
    counter: BodyCounter


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(data_dir=tmp_path / "data", output_dir=tmp_path / "output",
                                     web_password=PASSWORD, telegram_admins=str(ADMIN),
                                     telegram_allowed=f"{USER},{OTHER}")
    return load_settings(**(values | overrides))


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start the dashboard with these settings (a later call is a restart on the same data); stopped at the end."""
    running: list[Running] = []

    def start(**overrides: object) -> Served:
        for earlier in running:  # a restart: the earlier server stops first
            earlier.stop()
        settings = _settings(tmp_path, **overrides)
        services = build_services(settings)
        counter = BodyCounter(create_app(services))
        running.append(serve_in_thread(counter, settings))
        return Served(services, running[-1].url, counter)

    yield start
    for server in running:
        server.stop()


def _client(served: Served, address: str = "127.0.0.1") -> httpx.Client:
    """A browser on this loopback address (the whole 127/8 is this machine: another client address for the server)."""
    return httpx.Client(base_url=served.url, follow_redirects=False, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


def _csrf(client: httpx.Client, path: str = "/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def _password_login(client: httpx.Client, password: str = PASSWORD, **headers: str) -> httpx.Response:
    return client.post("/login", data={"password": password, "csrf": _csrf(client)}, headers=headers)


def _link_login(client: httpx.Client, served: Served, user: int, admin: bool = False) -> None:
    answer = client.get(f"/login/{served.services.logins.issue(user, admin)}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def _finished_job(services: WebServices, chat: int | None, folder: str | None = None, error: str | None = None) -> Job:
    """A finished job of this chat with a video and subtitles in its folder (or the given folder, as it is)."""
    settings = services.settings
    prepared = prepare(JobRequest(topic="Lighthouses", preset="science"), settings)
    job = services.jobs.create(prepared.request, prepared.preset, prepared.slug, Origin("web", chat),
                               settings.output_dir)
    if folder is None:
        Path(job.folder).mkdir(parents=True)
        (Path(job.folder) / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        (Path(job.folder) / "video.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nLight\n")
    with Session(services.store.engine) as session:
        row = session.get(Job, job.id)
        row.state, row.finished, row.error = JobState.DONE if error is None else JobState.FAILED, utcnow(), error
        row.folder = row.folder if folder is None else folder
        session.add(row)
        session.commit()
    return services.jobs.get(int(job.id))  # type: ignore[return-value]


# W1 ------------------------------------------------------------------------------------------------------------

def _cookie_csrf(client: httpx.Client) -> str:
    """The CSRF token from the session cookie itself (signed, not secret): what a page without a form would carry."""
    client.get("/login")
    data = client.cookies["vf_session"].split(".")[0]
    return json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))["csrf"]


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_or_blank_password_logs_nobody_in(serve, blank):
    served = serve(web_password=blank)
    with _client(served) as browser:
        assert 'type="password"' not in browser.get("/login").text
        for guess in ("", blank, " "):
            answer = browser.post("/login", data={"password": guess, "csrf": _cookie_csrf(browser)})
            assert answer.status_code == 403 and "Password login is off" in answer.text
        assert browser.get("/").status_code == 303  # still nobody


def test_an_empty_password_from_the_environment_is_no_password(monkeypatch, tmp_path):
    monkeypatch.setenv("VF_WEB_PASSWORD", "")  # what compose passed for an unset variable
    assert load_settings(data_dir=tmp_path).web_password is None


def _web_process(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    environment = os.environ | {"VF_DATA_DIR": str(tmp_path / "data"), "VF_OUTPUT_DIR": str(tmp_path / "output")} | env
    environment.pop("VF_WEB_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "web", "--port", str(port), *args],
                               env=environment, stderr=subprocess.PIPE, text=True)
    return process, port


def _listening(process: subprocess.Popen, port: int) -> list[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = [c.laddr.ip for c in psutil.Process(process.pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("the dashboard did not start")


def test_the_dashboard_listens_on_this_machine_unless_told_and_warns_once_without_https(tmp_path):
    quiet, port = _web_process(tmp_path)
    try:
        assert _listening(quiet, port) == ["127.0.0.1"]
    finally:
        quiet.terminate()
    assert "warning" not in quiet.communicate(timeout=30)[1]
    loud, port = _web_process(tmp_path, "--host", "0.0.0.0")
    try:
        assert _listening(loud, port) == ["0.0.0.0"]
    finally:
        loud.terminate()
    warnings = [line for line in loud.communicate(timeout=30)[1].splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "0.0.0.0" in warnings[0] and "https" in warnings[0]


# W2 ------------------------------------------------------------------------------------------------------------

async def _guesses(url: str, count: int, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    """`count` wrong passwords at once from one browser session (127.0.0.1)."""
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=count)) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/login")).text).group(1)  # type: ignore[union-attr]
        return await asyncio.gather(*(client.post("/login", data={"password": f"guess-{n}", "csrf": token},
                                                  headers=headers or {}) for n in range(count)))


def test_parallel_guesses_get_five_checks_a_minute_and_the_right_password_still_works_elsewhere(serve, caplog):
    served = serve()
    caplog.set_level(logging.WARNING, logger="web.auth")
    answers = asyncio.run(_guesses(served.url, 200))
    checked = [a for a in answers if a.status_code == 403]
    refused = [a for a in answers if a.status_code == 429]
    assert len(checked) == 5 and len(refused) == 195
    assert all(int(a.headers["Retry-After"]) >= 1 for a in refused) and "Too many tries" in refused[0].text
    with _client(served) as same_address:  # the right password from the guessing address waits too
        assert _password_login(same_address).status_code == 429
    with _client(served, "127.0.0.2") as elsewhere:
        assert _password_login(elsewhere).status_code == 303 and elsewhere.get("/").status_code == 200
    assert "refused: too many tries" in caplog.text and "127.0.0.1" in caplog.text
    assert "guess-" not in caplog.text and PASSWORD not in caplog.text  # refusals are logged without the password


def test_a_forged_forwarded_for_is_ignored_unless_it_comes_from_a_trusted_proxy(serve):
    served = serve()
    asyncio.run(_guesses(served.url, 6))
    with _client(served) as forged:  # the same address claiming to be another
        assert _password_login(forged, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    behind_proxy = serve(web_trusted_proxies="127.0.0.1")
    answers = asyncio.run(_guesses(behind_proxy.url, 20, {"X-Forwarded-For": "203.0.113.7"}))
    assert sum(a.status_code == 403 for a in answers) == 5  # counted against the visitor the proxy names
    with _client(behind_proxy) as proxy:  # another visitor through the same proxy is not held back
        assert _password_login(proxy, **{"X-Forwarded-For": "198.51.100.9"}).status_code == 303


# W3 ------------------------------------------------------------------------------------------------------------

def test_logging_out_ends_the_session_for_every_copy_of_its_cookie(serve):
    served = serve()
    with _client(served) as browser:
        _link_login(browser, served, USER)
        stolen = dict(browser.cookies)
        assert browser.post("/logout", data={"csrf": _csrf(browser, "/")}).status_code == 303
    with _client(served) as thief:
        thief.cookies.update(stolen)
        assert thief.get("/").status_code == 303 and thief.get("/jobs/progress.json").status_code == 401


def test_a_new_password_ends_the_old_passwords_sessions(serve):
    served = serve()
    with _client(served) as browser:
        assert _password_login(browser).status_code == 303
        cookie = dict(browser.cookies)
    same = serve()  # a restart with the same password keeps the session
    with _client(same) as browser:
        browser.cookies.update(cookie)
        assert browser.get("/").status_code == 200
    changed = serve(web_password="a different long password")
    with _client(changed) as browser:
        browser.cookies.update(cookie)
        assert browser.get("/").status_code == 303
    back = serve()  # the old password again does not bring the ended session back
    with _client(back) as browser:
        browser.cookies.update(cookie)
        assert browser.get("/").status_code == 303


def test_a_user_taken_off_the_allowed_list_loses_their_sessions(serve):
    served = serve()
    with _client(served) as browser:
        _link_login(browser, served, OTHER)
        cookie = dict(browser.cookies)
    removed = serve(telegram_allowed=str(USER))
    with _client(removed) as browser:
        browser.cookies.update(cookie)
        assert browser.get("/").status_code == 303
    with Session(removed.services.store.engine) as session:
        rows = list(session.exec(select(WebSession).where(WebSession.user_id == OTHER)))
    assert rows and all(row.ended is not None for row in rows)
    again = serve()  # allowed again, they log in anew: the old cookie stays dead
    with _client(again) as browser:
        browser.cookies.update(cookie)
        assert browser.get("/").status_code == 303


def test_an_admin_session_lasts_twelve_hours_and_a_users_a_week(serve):
    sessions = serve().services.sessions
    now = utcnow()
    admin, user = sessions.open(Visitor(None, True), now), sessions.open(Visitor(USER, False), now)
    assert sessions.find(admin, now + timedelta(hours=11.9)) == Visitor(None, True)
    assert sessions.find(admin, now + timedelta(hours=12.1)) is None
    assert sessions.find(user, now + timedelta(days=6.9)) == Visitor(USER, False)
    assert sessions.find(user, now + timedelta(days=7.1)) is None


# W4 ------------------------------------------------------------------------------------------------------------

def _endless(total: int, sent: list[int]) -> Iterator[bytes]:
    chunk = b"x" * (256 * 1024)
    while sent[0] < total:
        sent[0] += len(chunk)
        yield chunk


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_two_gigabyte_post_to_login_is_refused_before_it_is_read(serve, declared):
    served = serve()
    sent = [0]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if declared:
        headers["Content-Length"] = str(TWO_GB)
    with httpx.Client(base_url=served.url, timeout=30) as client:
        try:
            answer = client.post("/login", content=_endless(TWO_GB, sent), headers=headers)
        except httpx.WriteError:  # the server closed the connection while we still sent: it read none of the rest
            answer = None
    if answer is not None:
        assert answer.status_code == 413 and "too large" in answer.text
    assert served.counter.read < 1024 * 1024  # what the application read, and so could have written anywhere
    assert sent[0] < 256 * 1024 * 1024  # the client was stopped long before its 2 GB


def test_an_upload_without_its_form_token_is_refused_before_it_is_read(serve):
    served = serve()
    sent = [0]
    with _client(served) as browser:
        _link_login(browser, served, USER)
        boundary = "b0undary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"voiceover\"; filename=\"v.wav\"\r\n"
                "Content-Type: audio/wav\r\n\r\n").encode()

        def body() -> Iterator[bytes]:
            yield head
            yield from _endless(200 * 1024 * 1024, sent)

        answer = browser.post("/make", content=body(),
                              headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 403 and "not sent from this site" in answer.text
    assert served.counter.read < 1024 * 1024


def test_a_refused_upload_is_deleted_and_named_as_the_user_named_it(serve):
    served = serve()
    with _client(served) as browser:
        _link_login(browser, served, USER)
        token = _csrf(browser, "/make")
        answer = browser.post(f"/make?csrf={token}", data={"topic": "Keepers", "preset": "science"},
                              files={"script_file": ("my keeper's notes.txt", b"\x00\x01binary", "text/plain")})
    assert answer.status_code == 400
    assert "my keeper&#39;s notes.txt is not a text file" in answer.text
    inputs = served.services.settings.data_dir / "web" / "inputs"
    assert not any(path.is_file() for path in inputs.rglob("*"))


# W5 ------------------------------------------------------------------------------------------------------------

def test_a_job_with_an_empty_folder_serves_nothing_from_the_working_directory(serve, tmp_path, monkeypatch):
    served = serve()
    monkeypatch.chdir(served.services.settings.data_dir)  # where `web-secret` is: the server's working directory
    assert (Path.cwd() / "web-secret").is_file()
    (Path.cwd() / "notes.txt").write_text("not a job's file")
    job = _finished_job(served.services, USER, folder="")  # as migration 0002 left a bot job without a folder
    with _client(served) as browser:
        _link_login(browser, served, USER)
        assert "notes.txt" not in browser.get(f"/jobs/{job.id}").text
        for name in ("web-secret", "notes.txt", "videofactory.db"):
            assert browser.get(f"/jobs/{job.id}/files/{name}").status_code == 404


def test_a_folder_outside_the_output_root_and_links_inside_a_folder_are_never_served(serve, tmp_path):
    served = serve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "video.srt").write_text("1\n")
    outside = _finished_job(served.services, USER, folder=str(elsewhere))
    job = _finished_job(served.services, USER)
    folder = Path(job.folder)
    (folder / "secret.txt").symlink_to(served.services.settings.data_dir / "web-secret")
    (folder / "linked").symlink_to(elsewhere, target_is_directory=True)
    with _client(served) as browser:
        _link_login(browser, served, USER)
        page = browser.get(f"/jobs/{job.id}").text
        assert "video.srt" in page and "secret.txt" not in page and "linked" not in page
        assert browser.get(f"/jobs/{job.id}/files/video.srt").text.startswith("1\n")
        for path in (f"/jobs/{job.id}/files/secret.txt", f"/jobs/{job.id}/files/linked/video.srt",
                     f"/jobs/{outside.id}/files/video.srt", f"/jobs/{job.id}/files/%2E%2E/%2E%2E/data/web-secret"):
            assert browser.get(path).status_code == 404, path
        assert "video.srt" not in browser.get(f"/jobs/{outside.id}").text


# W6, W7 --------------------------------------------------------------------------------------------------------

def test_server_paths_in_a_jobs_error_reach_admins_only(serve):
    served = serve()
    error = "cannot write /srv/factory/output/lighthouses-1/job.json: No space left on device"
    job = _finished_job(served.services, USER, error=error)
    with _client(served) as user:
        _link_login(user, served, USER)
        assert "/srv/factory" not in user.get("/jobs").text
        for text in (user.get(f"/jobs/{job.id}").text, user.get(f"/jobs/progress.json?ids={job.id}").text):
            assert "/srv/factory" not in text and "cannot write job.json" in text
    with _client(served) as admin:
        _link_login(admin, served, ADMIN, admin=True)
        assert error in admin.get(f"/jobs/progress.json?ids={job.id}").json()[0]["error"]


def test_a_user_sees_their_own_figures_and_an_admin_the_factorys(serve):
    served = serve()
    _finished_job(served.services, USER)
    for _ in range(2):
        _finished_job(served.services, OTHER)
    with _client(served) as user:
        _link_login(user, served, USER)
        page = user.get("/").text
        assert "Your videos" in page and "1 video made" in page
    with _client(served) as admin:
        _link_login(admin, served, ADMIN, admin=True)
        page = admin.get("/").text
        assert "The factory" in page and "3 videos made" in page
