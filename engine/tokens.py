"""The Hugging Face token pool: the account with the most credit left, a ledger per token, failover.

Tokens are only ever shown by fingerprint (their last four characters). Credit belongs to the
account a token belongs to, so tokens are grouped by account (whoami, once a day) and each account's
balance is read from the hub before each job and every few pictures; where the hub does not
answer, the ledger's estimate stands. Every answer a token gets is booked in the database, so the
pool remembers across jobs and restarts which tokens are throttled, spent, or revoked.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr
from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from engine.errors import BackendError, ConfigError
from engine.hf_accounts import AccountBook, Balance, Hub, Identity, Usage, next_month
from engine.store import Store, as_utc, utcnow
from engine.tables import HFAccount, TokenLedger

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

    def __init__(self, status: int, retry_after: float | None = None, reason: str = "") -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after
        self.reason = reason  # in words, for an invalid token: revoked, or without the inference permission


class ProviderRefused(TokenRefused):
    """A 402 that names one inference provider: the account cannot pay that provider, others may serve."""

    def __init__(self, provider: str) -> None:
        super().__init__(402, reason=f"provider {provider} refused")
        self.provider = provider


class TransientFailure(Exception):
    """A call failed for a reason that may pass: a server error, a timeout, a dropped connection."""


class Unreachable(TransientFailure):
    """The service could not be connected to at all: refused, or its name not resolved (offline)."""


class InferenceUnreachable(BackendError):
    """The inference service cannot be reached from here: the job goes on without it (pictures painted here)."""


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
SETTINGS = ("fingerprint", "month", "state", "cooldown_until", "last_402", "last_429", "last_401", "account",
            "identified_at", "problem")
MEASURE_EVERY = 20  # pictures between two readings of an account's balance (VF_HF_MEASURE_EVERY)
IDENTIFY_EVERY = timedelta(days=1)  # whoami is heavily rate-limited: once a day per token


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


def account_of(row: TokenLedger) -> str:
    """The account a token's credit belongs to; a token whose account is not known yet counts as its own."""
    return row.account or f"token {row.fingerprint}"


class TokenPool:
    """Hands out a token of the account with the most credit left and books every answer."""

    def __init__(self, tokens: Sequence[Token], store: Store, budget_usd: float,
                 clock: Callable[[], datetime] = utcnow, max_wait_seconds: float = MAX_WAIT_SECONDS,
                 hub: Hub | None = None, measure_every: int = MEASURE_EVERY, metered: bool = True) -> None:
        if not tokens:
            raise ConfigError("no Hugging Face token configured (VF_HF_TOKENS or VF_HF_TOKENS_FILE)")
        self.tokens = {token.key: token for token in tokens}
        self.store = store
        self.budget_usd = budget_usd
        self.clock = clock
        self.max_wait_seconds = max_wait_seconds
        self.hub = hub
        self.measure_every = measure_every
        self.metered = metered  # False: a self-hosted endpoint, where no account's credit or budget applies
        self.accounts = AccountBook(store, budget_usd)
        self._lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._measuring = threading.Lock()
        self._dirty: set[str] = set()
        self._pending: dict[str, dict[str, float]] = {}  # counter increments not written yet, per token
        self._persisted = -math.inf  # so the first success is written, however soon after boot
        self._in_flight: dict[str, int] = dict.fromkeys(self.tokens, 0)
        self._pictures_since_measure = 0
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
                row.state, row.cooldown_until = "ok", None
            self._save(row)

    # --- accounts and their balances (the caller holds the lock) ---

    def _members(self, account: str) -> list[TokenLedger]:
        return [row for row in self._ledger.values() if account_of(row) == account]

    def _account_spend(self, account: str) -> float:
        return sum(row.spend_usd for row in self._members(account))

    def _balance(self, account: str, now: datetime) -> Balance:
        if not self.metered:
            return Balance(math.inf, math.inf, False, next_month(now))
        return self.accounts.balance(account, self._account_spend(account), now)

    def _usable(self, row: TokenLedger, now: datetime) -> bool:
        if row.state == "invalid":
            return False
        cooldown = as_utc(row.cooldown_until)
        if row.state == "exhausted":
            if cooldown is None or cooldown > now:
                return False
            row.state, row.cooldown_until = "ok", None  # its account's credit came back with the new period
            self._save(row)
        elif cooldown is not None and cooldown > now:
            return False
        return self._balance(account_of(row), now).left_usd > 0

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

    def balances(self) -> list[AccountView]:
        """Each account: its balance, where the figure comes from, and its tokens."""
        rows = self.ledger()
        with self._lock:
            views = account_views(rows, self.accounts, self.clock())
        if not self.metered:  # a self-hosted endpoint: no account's credit applies to it
            unmetered = Balance(math.inf, math.inf, False, next_month(self.clock()))
            views = [replace(view, balance=unmetered) for view in views]
        return views

    def acquire(self) -> Token:
        """A token of the account with the most left (fewest calls in flight within it); waits out short throttles."""
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            with self._lock:
                now = self.clock()
                for row in self._ledger.values():
                    self._roll_month(row)
                usable = [row for row in self._ledger.values() if self._usable(row, now)]
                if usable:
                    left = {account: self._balance(account, now).left_usd for account in {account_of(r) for r in usable}}
                    best = max(usable, key=lambda r: (left[account_of(r)], -self._in_flight[r.key]))
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
            if row.state == "throttled" and row.cooldown_until is not None
            and self._balance(account_of(row), now).left_usd > 0
        ]
        return max(0.05, min(waits)) if waits else None

    def _exhausted(self, now: datetime) -> TokensExhausted:
        lines, returns = [], []
        for row in self._ledger.values():
            if row.state == "invalid":
                lines.append(f"{row.fingerprint}: {row.problem or 'invalid (revoked or mistyped)'}; replace it")
                continue
            balance = self._balance(account_of(row), now)
            if row.state == "exhausted" or balance.left_usd <= 0:
                back = as_utc(row.cooldown_until) if row.state == "exhausted" and row.cooldown_until else balance.resets
                lines.append(f"{row.fingerprint}: the account's credit is spent; back {back:%Y-%m-%d}")
            else:
                back = as_utc(row.cooldown_until) or now
                lines.append(f"{row.fingerprint}: rate-limited; back at {back:%H:%M:%S} UTC")
            returns.append(back)
        resume = min(returns) if returns else None
        when = f"; the job resumes from its cache after {resume:%Y-%m-%d %H:%M} UTC" if resume else ""
        return TokensExhausted("every Hugging Face token is spent or refused (" + "; ".join(lines) + ")" + when, resume)

    def succeeded(self, token: Token, cost_usd: float, image: bool = False) -> None:
        """Book a successful call and its estimated cost; every few pictures, read the account's balance again."""
        with self._lock:
            row = self._ledger[token.key]
            self._in_flight[token.key] -= 1
            self._count(row, calls=1, images_ok=int(image), spend_usd=cost_usd)
            if row.state == "throttled":
                row.state, row.cooldown_until = "ok", None
            self._save(row)
            due = time.monotonic() - self._persisted >= PERSIST_EVERY
            self._pictures_since_measure += int(image)
            measure = self.hub is not None and self._pictures_since_measure >= self.measure_every
        if due:  # successes are written at most once a second: a killed job loses a second of counts
            self._persist()
        if measure:
            self.measure()

    def refused(self, token: Token, status: int, retry_after: float | None, image: bool = False,
                reason: str = "") -> None:
        """Book a refusal: 402 the account's credit spent, 429 throttled for a while, 401/403 invalid."""
        with self._lock:
            row = self._ledger[token.key]
            self._in_flight[token.key] -= 1
            self._count(row, images_failed=int(image))
            now = self.clock()
            if status == 402:
                self._spent(row, now)
            elif status == 429:
                self._count(row, count_429=1)
                row.state, row.last_429 = "throttled", now
                row.cooldown_until = now + timedelta(seconds=retry_after if retry_after is not None else 30.0)
                log.info("Hugging Face token %s is rate-limited for %.0f s", token.fingerprint, retry_after or 30.0)
            else:
                self._invalid(row, now, reason or "invalid (revoked or mistyped)")
            self._save(row)
        self._persist(wait=True)

    def _spent(self, row: TokenLedger, now: datetime) -> None:
        """A 402: the account has no credit left; every token of it rests until the credit comes back."""
        self._count(row, count_402=1)
        row.last_402 = now
        account = account_of(row)
        back = self._balance(account, now).resets
        for member in self._members(account):
            member.state, member.cooldown_until = "exhausted", back
            self._save(member)
        log.warning("Hugging Face token %s: its account's credit is spent until %s", row.fingerprint, f"{back:%Y-%m-%d}")

    def _invalid(self, row: TokenLedger, now: datetime, reason: str) -> None:
        self._count(row, count_401=1)
        row.state, row.last_401, row.problem = "invalid", now, reason
        log.warning("Hugging Face token %s was refused: %s", row.fingerprint, reason)

    def released(self, token: Token, image_failed: bool = False) -> None:
        """A call ended without saying anything about the token (a server error)."""
        with self._lock:
            self._in_flight[token.key] -= 1
            if image_failed:
                self._count(self._ledger[token.key], images_failed=1)
                self._save(self._ledger[token.key])

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
                self.refused(token, refusal.status, refusal.retry_after, image, refusal.reason)
                continue  # another token, at once
            except Unreachable as failure:
                self.released(token, image_failed=image)
                raise InferenceUnreachable(f"the inference service cannot be reached ({failure})") from None
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

    # --- asking the hub: who each token belongs to, and what each account has left ---

    def identify(self, force: bool = False) -> None:
        """Ask the hub who each token belongs to, once a day per token (or now, with `force`); book refusals.

        Nothing the hub answers here stops a job: a hub that cannot be reached, or answers 404 or
        429, leaves the token as it was, and the next call to the service will tell.
        """
        if self.hub is None:
            return
        for token in list(self.tokens.values()):
            with self._lock:
                row, now = self._ledger[token.key], self.clock()
                checked = as_utc(row.identified_at)
            if not force and checked is not None and now - checked < IDENTIFY_EVERY:
                continue
            try:
                identity = self.hub.whoami(token.secret.get_secret_value())
            except TokenRefused as refusal:
                if refusal.status == 401:
                    with self._lock:
                        self._invalid(row, now, "revoked or mistyped (the hub does not know it)")
                        self._save(row)
                else:
                    log.info("could not ask the hub about token %s now (HTTP %d)", token.fingerprint, refusal.status)
                continue
            except (TransientFailure, BackendError) as failure:
                log.info("could not ask the hub about token %s now: %s", token.fingerprint, failure)
                continue
            with self._lock:
                self._identified(row, identity, now)
        self.flush()
        self.accounts.save(list(self.accounts.rows))

    def _identified(self, row: TokenLedger, identity: Identity, now: datetime) -> None:
        row.account, row.identified_at = identity.account, now
        if not identity.can_infer:
            self._invalid(row, now, "a fine-grained token without the 'Make calls to Inference Providers' permission")
        elif row.state == "invalid":  # its permissions were mended since
            row.state, row.problem = "ok", ""
        self.accounts.identified(identity)
        self._save(row)

    def measure(self) -> None:
        """Read each account's balance from the hub; where that fails, the ledger's estimate stands."""
        if self.hub is None or not self._measuring.acquire(blocking=False):
            return
        try:
            with self._lock:
                self._pictures_since_measure = 0
                now = self.clock()
                asking: dict[str, list[Token]] = {}
                for row in self._ledger.values():
                    if row.account and row.state != "invalid":
                        asking.setdefault(row.account, []).append(self.tokens[row.key])
                starts = {account: self.accounts.period_start(account, now) for account in asking}
            for account, tokens in asking.items():
                self._measure_one(account, tokens, starts[account], now)
            self.accounts.save(list(asking))
        finally:
            self._measuring.release()

    def _usage(self, token: Token, start: datetime, now: datetime) -> Usage:
        """The account's usage for its period: asked again from the period's start when the hub names another."""
        usage = self.hub.usage(token.secret.get_secret_value(), start, now)  # type: ignore[union-attr]
        said = usage.period_start
        if said is not None and said < now and abs((said - start).total_seconds()) > 60:
            usage = self.hub.usage(token.secret.get_secret_value(), said, now)  # type: ignore[union-attr]
        return usage

    def _measure_one(self, account: str, tokens: list[Token], start: datetime, now: datetime) -> None:
        reason = ""
        for token in tokens:  # a token without billing rights may have a sibling with them
            try:
                usage = self._usage(token, start, now)
            except TokenRefused as refusal:
                reason = f"HTTP {refusal.status}" + (" (a token without billing read permission?)"
                                                     if refusal.status in (401, 403) else "")
                if refusal.status in (401, 403):
                    continue
                break
            except (TransientFailure, BackendError, ValueError) as failure:
                reason = str(failure)[:120]
                break
            with self._lock:
                self.accounts.apply(account, usage, self._account_spend(account), now)
                left = self._balance(account, now)
            log.info("Hugging Face account %s: $%.3f left of $%.2f (measured)", account, left.left_usd, left.ceiling_usd)
            return
        with self._lock:
            self.accounts.failed(account, reason)
        log.info("could not read the balance of Hugging Face account %s (%s); the ledger's estimate stands",
                 account, reason)


@dataclass(frozen=True)
class AccountView:
    """One account as `videofactory tokens` and /tokens show it."""

    name: str
    balance: Balance
    row: HFAccount | None  # what the hub said of it; None for a token whose account is not known
    tokens: tuple[TokenLedger, ...]

    @property
    def source(self) -> str:
        """Where the balance comes from: the hub ("measured") or the ledger ("estimated")."""
        return "measured" if self.balance.measured else "estimated"

    @property
    def known(self) -> bool:
        """Whether the hub has said which account this is (else it is one token standing for itself)."""
        return self.row is not None and bool(self.tokens[0].account)


def account_views(rows: Iterable[TokenLedger], book: AccountBook, now: datetime) -> list[AccountView]:
    """Ledger rows grouped by account, each account with its balance (this month's spend is what counts)."""
    month = _month(now)
    grouped: dict[str, list[TokenLedger]] = {}
    for row in rows:
        grouped.setdefault(account_of(row), []).append(row)
    return [AccountView(name, book.balance(name, sum(r.spend_usd for r in members if r.month == month), now),
                        book.rows.get(name), tuple(members)) for name, members in sorted(grouped.items())]
