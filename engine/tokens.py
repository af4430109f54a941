"""The Hugging Face token pool: the token with the most budget left, a ledger per token, failover.

Tokens are only ever shown by fingerprint (their last four characters). Every answer a token
gets is booked in the database, so the pool remembers across jobs and restarts which tokens
are throttled, spent for the month, or revoked.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr
from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from engine.errors import BackendError, ConfigError
from engine.store import Store, as_utc, utcnow
from engine.tables import TokenLedger

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_WAIT_SECONDS = 90.0  # a throttled pool waits this long at most before pausing the job (VF_HF_MAX_WAIT_SECONDS)
MAX_ATTEMPTS = 8  # server errors and timeouts are retried this often per call
BACKOFF_SECONDS = 0.5
PERSIST_EVERY = 1.0  # seconds between ledger writes for successful calls
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_\-]{8,200}")


class TokensExhausted(BackendError):
    """Every token is spent, throttled for long or invalid: the job pauses until one comes back."""

    exit_code = 75  # EX_TEMPFAIL: try again later

    def __init__(self, message: str, resume_after: datetime | None) -> None:
        super().__init__(message)
        self.resume_after = resume_after


class TokenRefused(Exception):
    """A call answered with a status that says something about the token (internal to the pool)."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class TransientFailure(Exception):
    """A call failed for a reason that may pass: a server error, a timeout, a dropped connection."""


@dataclass(frozen=True)
class Token:
    """A token and its fingerprint; only the fingerprint is ever printed."""

    secret: SecretStr
    key: str
    fingerprint: str

    @staticmethod
    def of(value: str) -> Token:
        """A token from its raw value."""
        value = value.strip()
        return Token(SecretStr(value), hashlib.sha256(value.encode()).hexdigest(), f"…{value[-4:]}")

    def __repr__(self) -> str:
        return f"Token({self.fingerprint})"


def read_tokens(inline: SecretStr | None, file: Path | None) -> tuple[Token, ...]:
    """Tokens from VF_HF_TOKENS (comma separated) and/or a file (one per line, # comments)."""
    values: list[str] = []
    if inline is not None:
        values += [v for v in inline.get_secret_value().split(",") if v.strip()]
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise ConfigError(f"cannot read the token file {file}: {error.strerror}") from None
        values += [line for line in lines if line.strip() and not line.strip().startswith("#")]
    for number, value in enumerate(values, 1):
        if not _TOKEN_TEXT.fullmatch(value.strip()):  # said by position: the value itself is a secret
            raise ConfigError(f"Hugging Face token {number} (of VF_HF_TOKENS and VF_HF_TOKENS_FILE) is not a token: "
                              "tokens are letters, digits, '_' and '-', such as hf_…")
    unique = {token.key: token for token in map(Token.of, values)}
    return tuple(unique.values())


COUNTERS = ("calls", "spend_usd", "count_402", "count_429", "count_401", "images_ok", "images_failed")
SETTINGS = ("fingerprint", "month", "state", "cooldown_until", "last_402", "last_429", "last_401")


def write_ledger(store: Store, row: TokenLedger, deltas: dict[str, float]) -> TokenLedger:
    """Write one token's ledger: counters by increment (reset when the month changed), the rest as given."""
    values = {name: getattr(row, name) for name in SETTINGS}
    with Session(store.engine, expire_on_commit=False) as session:
        if session.get(TokenLedger, row.key) is None:
            session.add(TokenLedger(key=row.key, **values, **{name: getattr(row, name) for name in COUNTERS}))
            try:
                session.commit()
            except IntegrityError:  # another process made it first: add to its row instead
                session.rollback()
            else:
                return session.get(TokenLedger, row.key)  # type: ignore[return-value]
        same_month = col(TokenLedger.month) == row.month
        session.exec(update(TokenLedger).where(col(TokenLedger.key) == row.key).values(  # type: ignore[call-overload]
            **values, **{name: case((same_month, getattr(TokenLedger, name) + deltas[name]), else_=deltas[name])
                         for name in COUNTERS}))
        session.commit()
        return session.get(TokenLedger, row.key, populate_existing=True)  # type: ignore[return-value]


def _month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def _next_month(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


class TokenPool:
    """Hands out the token with the most estimated budget left and books every answer."""

    def __init__(self, tokens: Sequence[Token], store: Store, budget_usd: float,
                 clock: Callable[[], datetime] = utcnow, max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
        if not tokens:
            raise ConfigError("no Hugging Face token configured (VF_HF_TOKENS or VF_HF_TOKENS_FILE)")
        self.tokens = {token.key: token for token in tokens}
        self.store = store
        self.budget_usd = budget_usd
        self.clock = clock
        self.max_wait_seconds = max_wait_seconds
        self._lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._dirty: set[str] = set()
        self._pending: dict[str, dict[str, float]] = {}  # counter increments not written yet, per token
        self._persisted = -math.inf  # so the first success is written, however soon after boot
        self._in_flight: dict[str, int] = dict.fromkeys(self.tokens, 0)
        self._ledger: dict[str, TokenLedger] = {}
        with Session(store.engine, expire_on_commit=False) as session:
            for token in tokens:
                row = session.get(TokenLedger, token.key) or TokenLedger(key=token.key, fingerprint=token.fingerprint)
                self._ledger[token.key] = row
        for row in self._ledger.values():
            self._roll_month(row)
        self._persist()

    def _save(self, row: TokenLedger) -> None:
        """Mark a ledger row for writing; the caller holds the pool's lock."""
        self._dirty.add(row.key)

    def _count(self, row: TokenLedger, **deltas: float) -> None:
        """Add to a row's counters, here and (at the next write) in the database; the caller holds the lock."""
        pending = self._pending.setdefault(row.key, dict.fromkeys(COUNTERS, 0))
        for name, delta in deltas.items():
            setattr(row, name, round(getattr(row, name) + delta, 6))
            pending[name] += delta
        self._save(row)

    def _persist(self, wait: bool = False) -> None:
        """Write changed ledger rows, outside the pool's lock so workers never queue behind the database.

        Counters are written as increments (another process may count calls of the same token at the
        same time); states and times as they are here. A worker finding another one writing goes back
        to work; the writer loops until nothing is left, and `flush` waits for it.
        """
        if not self._db_lock.acquire(blocking=wait):
            return
        try:
            while True:
                with self._lock:
                    changes = [(self._ledger[key].model_copy(), self._pending.pop(key, dict.fromkeys(COUNTERS, 0)))
                               for key in self._dirty]
                    self._dirty.clear()
                if not changes:
                    return
                for row, deltas in changes:
                    written = write_ledger(self.store, row, deltas)
                    self._refresh(written)
                self._persisted = time.monotonic()
        finally:
            self._db_lock.release()

    def _refresh(self, written: TokenLedger) -> None:
        """Counters as the database has them (every process's), plus what this one has not written yet."""
        with self._lock:
            row, pending = self._ledger[written.key], self._pending.get(written.key, {})
            for name in COUNTERS:
                setattr(row, name, round(getattr(written, name) + pending.get(name, 0), 6))

    def flush(self) -> None:
        """Write every ledger change now."""
        self._persist(wait=True)

    def _roll_month(self, row: TokenLedger) -> None:
        month = _month(self.clock())
        if row.month != month:
            row.month, row.calls, row.spend_usd = month, 0, 0.0
            row.count_402 = row.count_429 = row.count_401 = row.images_ok = row.images_failed = 0
            if row.state == "exhausted":
                row.state = "ok"
            self._save(row)

    def _usable(self, row: TokenLedger, now: datetime) -> bool:
        if row.state in ("exhausted", "invalid"):
            return False
        cooldown = as_utc(row.cooldown_until)
        if cooldown is not None and cooldown > now:
            return False
        return row.spend_usd < self.budget_usd

    def ledger(self) -> list[TokenLedger]:
        """The ledger rows of this pool's tokens, with what other processes have counted."""
        self.flush()
        with Session(self.store.engine) as session:
            for key in self.tokens:
                written = session.get(TokenLedger, key)
                if written is not None:
                    self._refresh(written)
        with self._lock:
            return [self._ledger[key].model_copy() for key in self.tokens]

    def acquire(self) -> Token:
        """The usable token with the most budget left (fewest calls in flight breaks ties); waits out short throttles."""
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            with self._lock:
                now = self.clock()
                for row in self._ledger.values():
                    self._roll_month(row)
                usable = [row for row in self._ledger.values() if self._usable(row, now)]
                if usable:
                    best = max(usable, key=lambda r: (self.budget_usd - r.spend_usd, -self._in_flight[r.key]))
                    self._in_flight[best.key] += 1
                    return self.tokens[best.key]
                wait = self._next_back(now)
            if wait is None or time.monotonic() + wait > deadline:
                self.flush()
                raise self._exhausted(now)
            time.sleep(min(wait, 1.0))

    def _next_back(self, now: datetime) -> float | None:
        """Seconds until a throttled token cools down, if any will."""
        waits = [
            (as_utc(row.cooldown_until) - now).total_seconds()  # type: ignore[operator]
            for row in self._ledger.values()
            if row.state == "throttled" and row.cooldown_until is not None and row.spend_usd < self.budget_usd
        ]
        return max(0.05, min(waits)) if waits else None

    def _exhausted(self, now: datetime) -> TokensExhausted:
        lines, returns = [], []
        for row in self._ledger.values():
            if row.state == "invalid":
                lines.append(f"{row.fingerprint}: invalid (revoked or mistyped); replace it")
                continue
            if row.state == "exhausted" or row.spend_usd >= self.budget_usd:
                back = _next_month(now)
                lines.append(f"{row.fingerprint}: monthly quota spent; back {back:%Y-%m-%d}")
            else:
                back = as_utc(row.cooldown_until) or now
                lines.append(f"{row.fingerprint}: rate-limited; back at {back:%H:%M:%S} UTC")
            returns.append(back)
        resume = min(returns) if returns else None
        when = f"; the job resumes from its cache after {resume:%Y-%m-%d %H:%M} UTC" if resume else ""
        return TokensExhausted("every Hugging Face token is spent or refused (" + "; ".join(lines) + ")" + when, resume)

    def succeeded(self, token: Token, cost_usd: float, image: bool = False) -> None:
        """Book a successful call and its estimated cost."""
        with self._lock:
            row = self._ledger[token.key]
            self._in_flight[token.key] -= 1
            self._count(row, calls=1, images_ok=int(image), spend_usd=cost_usd)
            if row.state == "throttled":
                row.state, row.cooldown_until = "ok", None
            self._save(row)
            due = time.monotonic() - self._persisted >= PERSIST_EVERY
        if due:  # successes are written at most once a second: a killed job loses a second of counts
            self._persist()

    def refused(self, token: Token, status: int, retry_after: float | None, image: bool = False) -> None:
        """Book a refusal: 402 spent for the month, 429 throttled for a while, 401/403 invalid."""
        with self._lock:
            row = self._ledger[token.key]
            self._in_flight[token.key] -= 1
            self._count(row, images_failed=int(image))
            now = self.clock()
            if status == 402:
                self._count(row, count_402=1)
                row.state, row.last_402 = "exhausted", now
                log.warning("Hugging Face token %s is out of monthly quota", token.fingerprint)
            elif status == 429:
                self._count(row, count_429=1)
                row.state, row.last_429 = "throttled", now
                row.cooldown_until = now + timedelta(seconds=retry_after if retry_after is not None else 30.0)
                log.info("Hugging Face token %s is rate-limited for %.0f s", token.fingerprint, retry_after or 30.0)
            else:
                self._count(row, count_401=1)
                row.state, row.last_401 = "invalid", now
                log.warning("Hugging Face token %s was refused (%d): invalid or revoked", token.fingerprint, status)
            self._save(row)
        self._persist(wait=True)

    def released(self, token: Token, image_failed: bool = False) -> None:
        """A call ended without saying anything about the token (a server error)."""
        with self._lock:
            self._in_flight[token.key] -= 1
            if image_failed:
                self._count(self._ledger[token.key], images_failed=1)
                self._save(self._ledger[token.key])

    def validate(self, check: Callable[[Token], None]) -> None:
        """Ask the service about each token once at start; refused ones are booked as such."""
        for token in list(self.tokens.values()):
            with self._lock:
                self._in_flight[token.key] += 1
            try:
                check(token)
            except TokenRefused as refusal:
                self.refused(token, refusal.status, refusal.retry_after)
                continue
            except TransientFailure as failure:
                log.info("could not check Hugging Face token %s now: %s", token.fingerprint, failure)
            self.released(token)

    def call(self, work: Callable[[Token], T], cost_usd: float, what: str, image: bool = False) -> T:
        """Run `work` with the best token; switch tokens on refusals, back off on transient failures.

        `image` books the outcome in the token's picture counts as well.
        """
        failures = 0
        while True:
            token = self.acquire()
            try:
                result = work(token)
            except TokenRefused as refusal:
                self.refused(token, refusal.status, refusal.retry_after, image)
                continue  # another token, at once
            except TransientFailure as failure:
                self.released(token, image_failed=image)
                failures += 1
                if failures >= MAX_ATTEMPTS:
                    raise BackendError(f"{what} failed {failures} times: {failure}") from None
                time.sleep(BACKOFF_SECONDS * 2 ** min(failures - 1, 4) * (0.5 + random.random()))
                continue
            except BaseException:
                self.released(token)
                raise
            self.succeeded(token, cost_usd, image)
            return result
