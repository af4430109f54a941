"""docker-compose.yml, parsed and checked (its images cannot be pulled here)."""

from __future__ import annotations

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
    assert services["web"]["ports"] == ["8080:8080"] and services["web"]["command"][1] == "web"
    assert services["flower"]["environment"]["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
