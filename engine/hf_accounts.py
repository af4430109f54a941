"""Hugging Face accounts: who a token belongs to, what the account may spend, and what it has spent.

Credits belong to the account, not the token: two tokens of one account share one balance. The
hub tells who a token belongs to (`/api/whoami-v2`, heavily rate-limited, so asked once a day) and,
undocumented, what the account has used of its inference credit this period
(`/api/settings/billing/usage-v2`, as Hugging Face's own ml-intern reads it in backend/usage.py).
That second answer may change or be refused; the pool's own ledger stands in when it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlmodel import Session, select

from engine.store import Store, as_utc
from engine.tables import HFAccount

NANO = 1e-9
INFERENCE_PERMISSION = "inference.serverless.write"  # "Make calls to Inference Providers"


@dataclass(frozen=True)
class Identity:
    """What `whoami-v2` says of a token: its account and what the account and the token may do."""

    account: str
    is_pro: bool
    can_pay: bool
    can_infer: bool  # False for a fine-grained token without the inference permission


@dataclass(frozen=True)
class Usage:
    """An account's inference credit this period, as the billing usage endpoint answers."""

    included_usd: float
    used_usd: float
    limit_usd: float | None  # the account's own spending limit, if it has one
    period_start: datetime | None
    period_end: datetime | None


class Hub(Protocol):
    """The hub's account endpoints, as the pool needs them."""

    def whoami(self, token: str) -> Identity:
        """Who the token belongs to (TokenRefused for a revoked one)."""
        ...

    def usage(self, token: str, start: datetime, end: datetime) -> Usage:
        """The account's inference usage between two moments (BackendError or TokenRefused when refused)."""
        ...


def _permissions(token_info: dict) -> set[str]:
    fine = token_info.get("fineGrained") or {}
    names = set(fine.get("global") or [])
    for scoped in fine.get("scoped") or []:
        names |= set(scoped.get("permissions") or [])
    return names


def identity_of(payload: dict) -> Identity:
    """An Identity from a `whoami-v2` answer; only fine-grained tokens can lack the inference permission."""
    token_info = ((payload.get("auth") or {}).get("accessToken")) or {}
    fine_grained = token_info.get("role") == "fineGrained"
    return Identity(
        account=str(payload.get("name") or payload.get("id") or "?"),
        is_pro=bool(payload.get("isPro")),
        can_pay=bool(payload.get("canPay")),
        can_infer=not fine_grained or INFERENCE_PERMISSION in _permissions(token_info),
    )


def _moment(value: object) -> datetime | None:
    """An ISO 8601 time or a Unix time (seconds or milliseconds) as UTC; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, timezone.utc)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _dollars(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value) * NANO
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def usage_of(payload: object) -> Usage:
    """A Usage from a `usage-v2` answer; ValueError when it has not the expected shape (the endpoint changed)."""
    inference = (payload.get("usage") or {}).get("inferenceProviders") if isinstance(payload, dict) else None
    if not isinstance(inference, dict):
        raise ValueError("no usage.inferenceProviders in the answer")
    included, used = _dollars(inference.get("includedNanoUsd")), _dollars(inference.get("usedNanoUsd"))
    if included is None or used is None:
        raise ValueError("no includedNanoUsd/usedNanoUsd in the answer")
    # limitNanoUsd 0 (or absent) is taken as "no spending limit set": the hub answers 0 for an account that never
    # set one. A real limit of nothing would stop nothing here that the service's 402 at the first call does not.
    limit = _dollars(inference.get("limitNanoUsd"))
    return Usage(included, used, limit if limit else None,
                 _moment(inference.get("periodStart")), _moment(inference.get("periodEnd")))


def ceiling_usd(usage: Usage, budget_usd: float) -> float:
    """What the account may use this period, in dollars, counting what it has used already: the budget
    (VF_HF_BUDGET_USD), never less than its included credit (that is free), never past its own spending limit.

    The same for every plan. Free accounts now get no included credit, but may have bought credit, which the
    usage answer does not show and for which `canPay` stays false: refusing them on the measured figures would
    refuse every call of an account that has paid. The service's own 402 says when the credit is really gone.
    """
    ceiling = max(budget_usd, usage.included_usd)
    return min(ceiling, usage.limit_usd) if usage.limit_usd is not None else ceiling


def month_start(moment: datetime) -> datetime:
    """Midnight UTC on the first of the month: where a period starts when the hub has not said."""
    return moment.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(moment: datetime) -> datetime:
    """Midnight UTC on the first of the next month: when the ledger's estimate starts again."""
    first = month_start(moment)
    return (first + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Balance:
    """What an account has left, and whether the figure was measured by the hub or estimated from the ledger."""

    left_usd: float
    ceiling_usd: float
    measured: bool
    resets: datetime


class AccountBook:
    """Each account's plan and measured credit, kept in `hf_accounts`; the pool's lock guards it."""

    def __init__(self, store: Store, budget_usd: float) -> None:
        self.store, self.budget_usd = store, budget_usd
        with Session(store.engine, expire_on_commit=False) as session:
            self.rows = {row.name: row for row in session.exec(select(HFAccount))}

    def measured(self, name: str, now: datetime) -> HFAccount | None:
        """The account's row when its measurement holds now (taken, and its period not over)."""
        row = self.rows.get(name)
        if row is None or row.measured_at is None:
            return None
        end = as_utc(row.period_end)
        return row if end is None or now < end else None

    def balance(self, name: str, spent_usd: float, now: datetime) -> Balance:
        """What is left: the measured figure less what was spent since, or else the budget less the ledger's spend."""
        row = self.measured(name, now)
        if row is None:
            return Balance(self.budget_usd - spent_usd, self.budget_usd, False, next_month(now))
        since = max(0.0, spent_usd - row.spent_at_measure)
        usage = Usage(row.included_usd, row.used_usd, row.limit_usd, row.period_start, row.period_end)
        ceiling = ceiling_usd(usage, self.budget_usd)  # today's budget, if it changed since
        return Balance(ceiling - row.used_usd - since, ceiling, True, as_utc(row.period_end) or next_month(now))

    def period_start(self, name: str, now: datetime) -> datetime:
        """Where the current period starts: as the hub said last, or the first of the month."""
        row = self.measured(name, now)
        start = as_utc(row.period_start) if row is not None else None
        return start if start is not None and start < now else month_start(now)

    def identified(self, identity: Identity) -> HFAccount:
        """Book what whoami said of an account."""
        row = self.rows.get(identity.account) or HFAccount(name=identity.account)
        row.is_pro, row.can_pay = identity.is_pro, identity.can_pay
        return self._keep(row)

    def apply(self, name: str, usage: Usage, spent_usd: float, now: datetime) -> HFAccount:
        """Book a measurement: the account's credit now, and the ledger's spend it already counts."""
        row = self.rows.get(name) or HFAccount(name=name)
        row.measured_at, row.usage_error = now, ""
        row.included_usd, row.used_usd, row.limit_usd = usage.included_usd, usage.used_usd, usage.limit_usd
        row.spent_at_measure = spent_usd
        row.period_start, row.period_end = usage.period_start, usage.period_end
        return self._keep(row)

    def failed(self, name: str, reason: str) -> HFAccount:
        """Book a measurement that did not work; an earlier one still holds until its period ends."""
        row = self.rows.get(name) or HFAccount(name=name)
        row.usage_error = reason
        return self._keep(row)

    def _keep(self, row: HFAccount) -> HFAccount:
        self.rows[row.name] = row
        return row

    def save(self, names: Iterable[str]) -> None:
        """Write these accounts' rows."""
        with Session(self.store.engine, expire_on_commit=False) as session:
            for name in names:
                session.merge(self.rows[name].model_copy())
            session.commit()
