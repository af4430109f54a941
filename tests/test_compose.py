"""docker-compose.yml, parsed and checked (its images cannot be pulled here)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_the_compose_file_wires_the_queue_the_database_and_shared_volumes():
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == {"redis", "postgres", "bot", "worker", "web", "flower"}
    factory = ("bot", "worker", "web")
    for name in factory:
        service = services[name]
        assert service["command"][0] == "videofactory" and service["build"] == "."
        assert service["environment"]["VF_BROKER_URL"] == "redis://redis:6379/0"
        assert service["environment"]["VF_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["environment"]["VF_DATABASE_URL"].endswith("@postgres:5432/videofactory")
        assert set(service["volumes"]) == {"data:/data", "output:/output"}  # what every machine must share
    worker = services["worker"]
    assert worker["command"][1] == "worker" and "container_name" not in worker and "ports" not in worker  # --scale
    assert services["web"]["command"][1] == "web"
    assert services["flower"]["environment"]["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"


def test_compose_cannot_start_an_open_dashboard():
    """W1: the web service needs VF_WEB_PASSWORD (`:?` stops compose when it is unset or empty), and the
    dashboard is published on the host's loopback only, for an HTTPS proxy in front."""
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    web = services["web"]
    assert re.fullmatch(r"\$\{VF_WEB_PASSWORD:\?[^}]*set VF_WEB_PASSWORD[^}]*\}", web["environment"]["VF_WEB_PASSWORD"])
    assert web["ports"] == ["127.0.0.1:8080:8080"]
    for name in ("bot", "worker"):  # only the dashboard needs the password
        assert "VF_WEB_PASSWORD" not in services[name]["environment"]


def _flower_start(tmp_path: Path, basic_auth: str) -> subprocess.CompletedProcess:
    """The flower service's command as its container runs it (compose turns $$ into $), with a stand-in
    `celery` that only says it started."""
    yaml = pytest.importorskip("yaml")
    command = yaml.safe_load(COMPOSE.read_text())["services"]["flower"]["command"]
    celery = tmp_path / "celery"
    celery.write_text("#!/bin/sh\necho flower started\n")
    celery.chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "FLOWER_BASIC_AUTH": basic_auth}
    return subprocess.run([*command[:2], command[2].replace("$$", "$")], env=env, capture_output=True, text=True)


def test_flower_is_not_started_by_default_and_never_without_a_login(tmp_path):
    """F1: Flower's API can revoke tasks and stop workers: it runs only in the monitoring profile, on the
    host's loopback, and its container refuses to start with an empty FLOWER_BASIC_AUTH."""
    yaml = pytest.importorskip("yaml")
    flower = yaml.safe_load(COMPOSE.read_text())["services"]["flower"]
    assert flower["profiles"] == ["monitoring"] and flower["ports"] == ["127.0.0.1:5555:5555"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "${VF_FLOWER_BASIC_AUTH:-}"
    refused = _flower_start(tmp_path, "")
    assert refused.returncode != 0 and "set VF_FLOWER_BASIC_AUTH=user:password" in refused.stderr
    assert "flower started" not in refused.stdout
    started = _flower_start(tmp_path, "admin:long-secret")
    assert started.returncode == 0 and started.stdout.strip() == "flower started"
