"""Shared fixtures: isolated data and output folders, and a runner for the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import Settings, load_settings

SHORT_SCRIPT = """The Night Train

The last train left the station just after midnight. Snow was falling on the empty platform.

Inside, a conductor walked slowly between the seats. He counted eleven passengers, but the ticket list had twelve names.
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data and output folders live in the test's temporary folder."""
    return load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output")


def pytest_configure(config: pytest.Config) -> None:
    """Jobs in tests paint every picture unless a test points them at the local archives: none reaches the internet."""
    os.environ["VF_IMAGE_SOURCES"] = "none"


def isolated_env(root: Path) -> dict[str, str]:
    """Environment for running `videofactory` as a process with its folders under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VF_")}
    env.update(VF_DATA_DIR=str(root / "data"), VF_OUTPUT_DIR=str(root / "output"), VF_IMAGE_SOURCES="none")
    return env


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """`isolated_env` under the test's temporary folder."""
    return isolated_env(tmp_path)


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real console entry point in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def made_folder(result: subprocess.CompletedProcess) -> Path:
    """The folder `videofactory make` printed first: each job's own, `<output>/<slug>-<id>`."""
    return Path(result.stdout.splitlines()[0])


@pytest.fixture
def short_script(tmp_path: Path) -> Path:
    """A two-paragraph script of about 15 seconds of narration."""
    path = tmp_path / "night-train.txt"
    path.write_text(SHORT_SCRIPT, encoding="utf-8")
    return path


@pytest.fixture
def fake_hf(monkeypatch):
    """A local server that answers like Hugging Face (see tests/hf_server.py).

    This process's hub calls and router calls go to it: `huggingface_hub` reads both from its
    constants at call time. A child process gets the hub by `fake_hf.hub_env()` (HF_ENDPOINT).
    """
    from huggingface_hub import constants

    from tests.hf_server import FakeHF

    server = FakeHF()
    server.url = server.start()
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "INFERENCE_PROXY_TEMPLATE", server.url + "/{provider}")
    from huggingface_hub.inference._providers import PROVIDERS

    for helper in PROVIDERS["hf-inference"].values():  # made at import, with the router's URL of that moment
        monkeypatch.setattr(helper, "base_url", server.url + "/hf-inference")
    # Chat with an hf_ token goes to the router's OpenAI-style endpoint, the provider named in the body's model
    # ("model:provider"); huggingface_hub writes that router's address into the helper, not into a constant.
    from huggingface_hub.inference._providers._common import AutoRouterConversationalTask

    monkeypatch.setattr(AutoRouterConversationalTask, "_prepare_base_url", lambda self, api_key: server.url)
    yield server
    server.stop()


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def free_port() -> int:
    """A TCP port nobody listens on now, on 127.0.0.1."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL (Debian's) on a free local port for this test session; its base URL."""
    import shutil
    import tempfile
    import time

    binaries = _postgres_bin()
    if binaries is None:
        if os.environ.get("VF_CI"):
            raise RuntimeError("CI must have PostgreSQL: .ci/run installs Debian's package")
        pytest.skip("PostgreSQL is not installed (CI installs Debian's)")
    root = Path(tempfile.mkdtemp(prefix="vf-postgres-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: its own user runs it
        shutil.chown(root, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_owner, str(binaries / "initdb"), "-D", str(root / "data"), "-U", "vf", "--auth=trust",
                    "-E", "UTF8"], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*as_owner, str(binaries / "postgres"), "-D", str(root / "data"), "-p", str(port),
                               "-k", str(root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=vf dbname=postgres").close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield f"postgresql+psycopg://vf@127.0.0.1:{port}"
    server.terminate()
    server.wait(30)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's PostgreSQL."""
    import secrets

    import psycopg

    name = f"vf_{secrets.token_hex(6)}"
    port = postgres_server.rsplit(":", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 port={port} user=vf dbname=postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


class RedisServer:
    """Debian's redis-server on a free local port, which a test may stop and start again on the same port."""

    def __init__(self, binary: str) -> None:
        self.binary, self.port = binary, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Its address for VF_BROKER_URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it takes connections (nothing persists across a restart)."""
        import socket
        import time

        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop it, as an outage would."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_server():
    """A real Redis (Debian's redis-server) on a free local port for one test."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("VF_CI"):
            raise RuntimeError("CI must have redis-server: .ci/run installs Debian's package")
        pytest.skip("redis-server is not installed (CI installs Debian's)")
    server = RedisServer(binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A real Redis on a free local port for one test; its URL."""
    return redis_server.url


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`videofactory worker` in a session of its own: killing the session is losing the whole worker."""
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "-v", "worker"], env=env, cwd=log.parent,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
