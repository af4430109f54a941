"""The token pool in words, for `videofactory tokens` and the bot's /tokens: accounts, balances, tokens."""

from __future__ import annotations

import math
from datetime import datetime

from sqlmodel import Session

from engine.config import Settings
from engine.hf_accounts import AccountBook
from engine.store import Store
from engine.tables import TokenLedger
from engine.tokens import AccountView, account_views, read_tokens


def _plan(view: AccountView) -> str:
    if view.row is None:
        return ""
    kinds = [kind for kind, has in (("PRO", view.row.is_pro), ("can pay", view.row.can_pay)) if has]
    return f" ({', '.join(kinds)})" if kinds else " (free)"


def _source(view: AccountView) -> str:
    if view.balance.measured and view.row is not None and view.row.measured_at is not None:
        return f"measured {view.row.measured_at:%Y-%m-%d %H:%M} UTC"
    why = f"; the hub's balance: {view.row.usage_error}" if view.row is not None and view.row.usage_error else ""
    return f"estimated from the ledger{why}"


def _token_line(row: TokenLedger) -> str:
    state = f"invalid: {row.problem}" if row.state == "invalid" and row.problem else row.state
    return f"  {row.fingerprint} {state}, {row.calls} calls, {row.images_ok} pictures, ${row.spend_usd:.3f} this month"


def account_lines(views: list[AccountView]) -> list[str]:
    """One line per account (balance, where it comes from, reset) and one per token in it, by fingerprint."""
    lines = []
    for view in views:
        who = f"Account {view.name}{_plan(view)}" if view.known else f"Token {view.tokens[0].fingerprint} (account not known yet)"
        balance = view.balance
        if math.isinf(balance.ceiling_usd):
            lines.append(f"{who}: a self-hosted endpoint (VF_HF_BASE_URL); no Hugging Face credit or budget applies")
        else:
            lines.append(f"{who}: ${max(0.0, balance.left_usd):.3f} left of ${balance.ceiling_usd:.2f}, "
                         f"{_source(view)}; resets {balance.resets:%Y-%m-%d}")
        lines += [_token_line(row) for row in view.tokens]
    return lines


def stored_accounts(settings: Settings, store: Store, now: datetime) -> list[AccountView]:
    """The configured tokens' accounts as the database last knew them: no call to the hub (for pages)."""
    keys = [token.key for token in read_tokens(settings.hf_tokens, settings.hf_tokens_file)]
    with Session(store.engine) as session:
        rows = [session.get(TokenLedger, key) for key in keys]
    return account_views((row for row in rows if row is not None), AccountBook(store, settings.hf_budget_usd), now)
