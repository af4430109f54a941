"""/dashboard: a one-time login link to the web dashboard, for the one who asked, in a private chat."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from fastapi.testclient import TestClient

from bot.app import build_application
from bot.dashboard import NOT_SET
from engine.config import load_settings
from tests.bot.fake_telegram import FakeTelegram, message_update
from tests.bot.talk import feed
from web.app import build_services, create_app

USER, GROUP = 1001, -100777
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"


def _talk(settings, *updates: dict) -> list[str]:
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, *updates)
        await app.shutdown()

    asyncio.run(conversation())
    return [c.params.get("text", "") for c in fake.calls if c.method == "sendMessage"]


def test_a_link_logs_the_user_in_once(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", telegram_token=TOKEN,
                             telegram_allowed=f"{USER},{GROUP}", web_url="https://factory.example.com/")
    group = message_update(2, GROUP, "/dashboard")
    group["message"]["chat"]["type"] = "supergroup"
    group["message"]["from"]["id"] = USER
    texts = _talk(settings, message_update(1, USER, "/dashboard"), group)
    link = re.search(r"https://factory\.example\.com/login/(\S+)", texts[0])
    assert link and "works once, within 10 minutes" in texts[0]
    assert "private chat" in texts[1] and "/login/" not in texts[1]  # never a link for everyone in a group
    client = TestClient(create_app(build_services(settings)), base_url="https://testserver", follow_redirects=False)
    assert client.get(f"/login/{link.group(1)}").status_code == 303
    assert client.get("/jobs").status_code == 200
    client.cookies.clear()
    assert client.get(f"/login/{link.group(1)}").status_code == 403


def test_without_a_public_address_the_bot_says_what_to_set(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", telegram_token=TOKEN,
                             telegram_allowed=str(USER))
    assert _talk(settings, message_update(1, USER, "/dashboard")) == [NOT_SET]
