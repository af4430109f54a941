"""/tokens in the chat: the admins see each account's balance and tokens by fingerprint; nobody sees a token."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import build_application
from bot.tokens import ADMINS_ONLY
from engine.config import load_settings
from tests.bot.fake_telegram import FakeTelegram, message_update
from tests.bot.talk import feed
from tests.hf_server import FakeHF

ADMIN, MEMBER = 1001, 1002
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
A, B, C = "hf_aaaaaaaaaaaaaaaa1111", "hf_bbbbbbbbbbbbbbbb2222", "hf_cccccccccccccccc3333"


def test_admins_see_each_accounts_balance_and_others_are_told_no(tmp_path: Path, fake_hf: FakeHF):
    fake_hf.accounts.update({A: "alice", B: "alice", C: "bob"})
    fake_hf.used_usd["alice"] = 0.025
    fake_hf.revoked.add(C)  # bob's only token is revoked: its account is never learnt
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", telegram_token=TOKEN,
                             telegram_allowed=str(MEMBER), telegram_admins=str(ADMIN), hf_tokens=f"{A},{B},{C}")
    fake = FakeTelegram()

    async def conversation() -> None:
        app = build_application(settings, request=fake)
        await app.initialize()
        await feed(app, message_update(1, ADMIN, "/tokens"), message_update(2, MEMBER, "/tokens"))
        await app.shutdown()

    asyncio.run(conversation())
    texts = [c.params.get("text", "") for c in fake.calls if c.method == "sendMessage"]
    shown = next(text for text in texts if text.startswith("Account alice"))
    assert "Account alice (free): $1.975 left of $2.00, measured" in shown  # the default budget, no included credit
    assert "…1111 ok" in shown and "…2222 ok" in shown
    assert "Token …3333 (account not known yet)" in shown and "…3333 invalid: revoked" in shown
    assert ADMINS_ONLY in texts
    assert all(secret not in str(call.params) for call in fake.calls for secret in (A, B, C))
