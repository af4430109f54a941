"""The token pool: choice by budget, failover on refusals, pauses when everything is spent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from engine.store import Store
from engine.tokens import Token, TokenPool, TokenRefused, TokensExhausted, TransientFailure, read_tokens

A, B, C = "hf_aaaaaaaaaaaaaaaa1111", "hf_bbbbbbbbbbbbbbbb2222", "hf_cccccccccccccccc3333"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'db.sqlite'}")


def _pool(store: Store, clock: Clock, *values: str, budget: float = 1.0) -> TokenPool:
    return TokenPool([Token.of(v) for v in values], store, budget, clock=clock)


def test_tokens_come_from_the_setting_and_a_file_once_each(tmp_path: Path):
    file = tmp_path / "tokens.txt"
    file.write_text(f"# mine\n{B}\n{C}\n\n")
    tokens = read_tokens(SecretStr(f"{A}, {B}"), file)
    assert [t.fingerprint for t in tokens] == ["…1111", "…2222", "…3333"]
    assert A not in repr(tokens) and A not in str([t.fingerprint for t in tokens])


def test_the_token_with_most_budget_left_is_chosen(store: Store):
    clock = Clock()
    pool = _pool(store, clock, A, B)
    first = pool.acquire()
    pool.succeeded(first, 0.3)
    second = pool.acquire()
    assert second != first  # the other one has more left now
    pool.succeeded(second, 0.1)
    assert pool.acquire() == second  # 0.9 left beats 0.7 left


def test_refusals_switch_token_and_are_booked(store: Store):
    clock = Clock()
    pool = _pool(store, clock, A, B, C)
    answers = {A: [TokenRefused(402)], B: [TokenRefused(429, 30.0)], C: []}
    used: list[str] = []

    def work(token: Token) -> str:
        used.append(token.fingerprint)
        pending = answers[token.secret.get_secret_value()]
        if pending:
            raise pending.pop(0)
        return "picture"

    assert pool.call(work, 0.01, "image", image=True) == "picture"
    assert pool.call(work, 0.01, "image", image=True) == "picture"
    states = {row.fingerprint: row for row in pool.ledger()}
    # What /stats shows per token: refusals by kind, pictures made and not made.
    assert (states["…1111"].count_402, states["…1111"].images_failed) == (1, 1)
    assert (states["…2222"].count_429, states["…2222"].images_failed) == (1, 1)
    assert (states["…3333"].images_ok, states["…3333"].count_402 + states["…3333"].count_429) == (2, 0)
    assert states["…1111"].state == "exhausted" and states["…1111"].last_402 is not None
    assert states["…2222"].state == "throttled" and states["…2222"].cooldown_until == clock.now + timedelta(seconds=30)
    assert states["…3333"].calls == 2 and states["…3333"].state == "ok"
    # The ledger lives in the database: a new pool (a new job) remembers.
    again = {row.fingerprint: row.state for row in _pool(store, clock, A, B, C).ledger()}
    assert again == {"…1111": "exhausted", "…2222": "throttled", "…3333": "ok"}


def test_a_server_error_is_retried_with_backoff(store: Store, monkeypatch):
    monkeypatch.setattr("engine.tokens.BACKOFF_SECONDS", 0.001)
    pool = _pool(store, Clock(), A)
    failures = [TransientFailure("HTTP 500"), TransientFailure("timed out")]

    def work(token: Token) -> int:
        if failures:
            raise failures.pop(0)
        return 7

    assert pool.call(work, 0.01, "image", image=True) == 7
    assert pool.ledger()[0].calls == 1 and pool.ledger()[0].state == "ok"
    assert (pool.ledger()[0].images_ok, pool.ledger()[0].images_failed) == (1, 2)


def test_when_every_token_is_spent_the_message_says_which_and_when(store: Store):
    clock = Clock()
    pool = _pool(store, clock, A, B, C)
    for token, status in zip(pool.tokens.values(), (402, 401, 402)):
        pool.acquire()
        pool.refused(token, status, None)
    with pytest.raises(TokensExhausted) as caught:
        pool.acquire()
    message = str(caught.value)
    assert "…1111: the account's credit is spent; back 2026-12-01" in message
    assert "…2222: invalid" in message
    assert caught.value.resume_after == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert A not in message and B not in message and C not in message
    # A new month gives the spent tokens their budget back; the invalid one stays out.
    clock.now = datetime(2026, 12, 1, 0, 5, tzinfo=timezone.utc)
    assert pool.acquire().fingerprint in ("…1111", "…3333")


def test_a_short_throttle_is_waited_out(store: Store):
    clock = Clock()
    pool = _pool(store, clock, A)
    token = pool.acquire()
    pool.refused(token, 429, 0.2)
    clock.now += timedelta(seconds=0.3)  # the cooldown has passed by the pool's clock
    assert pool.acquire() == token


def test_a_spent_budget_counts_as_exhausted(store: Store):
    pool = _pool(store, Clock(), A, budget=0.05)
    pool.call(lambda token: None, 0.05, "image")
    with pytest.raises(TokensExhausted, match="the account's credit is spent"):
        pool.acquire()


def test_two_processes_counting_one_token_lose_no_call(store: Store):
    clock = Clock()
    first, second = _pool(store, clock, A), _pool(store, clock, A)  # two processes, one database
    for pool in (first, second, first, second):
        token = pool.acquire()
        pool.succeeded(token, 0.01, image=True)
    first.flush()
    second.flush()
    [row] = first.ledger()
    assert (row.calls, round(row.spend_usd, 6), row.images_ok) == (4, 0.04, 4)  # every call of both
    clock.now += timedelta(days=40)  # a new month: the counters start again
    third = _pool(store, clock, A)
    [row] = third.ledger()
    assert (row.calls, row.spend_usd, row.month) == (0, 0.0, "2027-01")
