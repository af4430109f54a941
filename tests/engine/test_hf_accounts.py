"""Accounts and their real balances: whoami and billing usage through huggingface_hub against a local hub."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.cache import Cache
from engine.hf import FluxImages, HFService, HubAccounts
from engine.hf_accounts import Usage, ceiling_usd, identity_of, usage_of
from engine.models import Shot
from engine.presets import load_preset
from engine.stages.images import paint_shots
from engine.store import Store
from engine.token_report import account_lines
from engine.tokens import Token, TokenPool, TokensExhausted
from tests.hf_server import FakeHF

A, B, C = "hf_aaaaaaaaaaaaaaaa1111", "hf_bbbbbbbbbbbbbbbb2222", "hf_cccccccccccccccc3333"
FLUX = "black-forest-labs/FLUX.1-schnell"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'db.sqlite'}")


def _pool(store: Store, *values: str, budget: float = 0.10, measure_every: int = 20) -> TokenPool:
    pool = TokenPool([Token.of(v) for v in values], store, budget, clock=lambda: NOW, hub=HubAccounts(),
                     measure_every=measure_every)
    pool.identify()
    pool.measure()
    return pool


def _shots(count: int) -> tuple[Shot, ...]:
    return tuple(Shot(i, i, i * 2.0, i * 2.0 + 2.0, f"a lighthouse, view {i}", "zoom_in", "calm") for i in range(count))


def _paint(pool: TokenPool, tmp_path: Path, count: int, service: HFService, model: str = FLUX) -> int:
    flux = FluxImages(pool, service, model, 4, None, 0.01, pixels=256 * 256)
    return len(paint_shots(_shots(count), load_preset("science", None), flux, Cache(tmp_path / "cache"), workers=1))


def _no_token_in(text: str) -> bool:
    return all(secret not in text for secret in (A, B, C))


def test_two_tokens_of_one_account_share_one_measured_balance_and_the_richer_account_is_chosen(
        fake_hf: FakeHF, store: Store, caplog):
    caplog.set_level(logging.DEBUG)
    fake_hf.accounts.update({A: "alice", B: "alice", C: "bob"})
    fake_hf.used_usd.update({"alice": 0.02, "bob": 0.07})
    pool = _pool(store, A, B, C)
    views = {view.name: view for view in pool.balances()}
    assert set(views) == {"alice", "bob"}  # three tokens, two accounts
    assert [row.fingerprint for row in views["alice"].tokens] == ["…1111", "…2222"]
    assert views["alice"].source == "measured" and views["alice"].balance.left_usd == pytest.approx(0.08)
    assert views["bob"].balance.left_usd == pytest.approx(0.03)
    assert views["alice"].balance.resets == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert pool.acquire().fingerprint in ("…1111", "…2222")  # alice has more left than bob
    # The usage endpoint was asked once per account, for the period the hub names, with the token as Bearer.
    asked = fake_hf.hub_calls("/billing/usage-v2")
    assert len(asked) == 2 and {call.token for call in asked} <= {A, B, C}
    assert int(asked[0].body["startDate"]) == int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
    lines = "\n".join(account_lines(pool.balances()))
    assert "Account alice (free): $0.080 left of $0.10, measured" in lines and "resets 2026-12-01" in lines
    assert _no_token_in(lines + caplog.text)


def test_a_free_account_with_bought_credit_is_used_until_the_service_says_it_is_spent(fake_hf: FakeHF, store: Store,
                                                                                     tmp_path):
    """H3: free accounts get no included credit now, and bought credit shows neither in usage-v2 nor in canPay:
    the measured figures must not refuse them; the service's 402 says when the credit is gone, for the account."""
    fake_hf.accounts.update({A: "alice", B: "alice", C: "bob"})
    fake_hf.bought_usd.update({"alice": 0.05, "bob": 0.02})
    fake_hf.price_usd = 0.01
    pool = _pool(store, A, B, C, measure_every=1)
    with pytest.raises(TokensExhausted) as paused:
        _paint(pool, tmp_path, 9, HFService(fake_hf.url, "auto", 10.0))
    made = fake_hf.image_calls()
    assert len(made) == 7 and sum(call.token in (A, B) for call in made) == 5  # the accounts' credit, all of it
    assert len(fake_hf.image_calls(status=402)) == 2  # one refusal per account: its other token was not asked
    assert "credit is spent; back 2026-12-01" in str(paused.value) and _no_token_in(str(paused.value))


def test_an_account_that_can_pay_stops_at_the_budget_before_the_service_refuses(fake_hf: FakeHF, store: Store,
                                                                               tmp_path):
    fake_hf.accounts.update({A: "carol"})
    fake_hf.can_pay.add("carol")
    fake_hf.price_usd = 0.02
    pool = _pool(store, A, measure_every=1)  # a budget of $0.10 a month
    with pytest.raises(TokensExhausted):
        _paint(pool, tmp_path, 9, HFService(fake_hf.url, "auto", 10.0))
    assert len(fake_hf.image_calls()) == 5 and fake_hf.image_calls(status=402) == []


def test_a_402_naming_a_provider_moves_the_picture_to_the_next_provider(fake_hf: FakeHF, store: Store, tmp_path):
    fake_hf.provider_refusals.add("fal-ai")  # "Pay-as-you go is not enabled for provider fal-ai yet."
    pool = _pool(store, A)
    router = HFService(None, "auto", 10.0)  # the router, through huggingface_hub's own provider helpers
    assert _paint(pool, tmp_path, 3, router) == 3
    routes = [call.path.split("/")[1] for call in fake_hf.image_calls(None)]
    assert routes == ["fal-ai", "together", "together", "together"]  # refused once, then not asked again
    assert fake_hf.hub_calls(f"/api/models/{FLUX}")  # the next provider came from the model's mapping
    assert pool.ledger()[0].state == "ok" and pool.ledger()[0].count_402 == 0  # the token was not retired


def test_the_configured_provider_order_is_followed(fake_hf: FakeHF, store: Store, tmp_path):
    fake_hf.provider_refusals.update({"together", "fal-ai"})
    pool = _pool(store, A)
    router = HFService(None, "together", 10.0, providers=("together", "fal-ai", "hf-inference"))
    assert _paint(pool, tmp_path, 1, router) == 1
    assert [call.path.split("/")[1] for call in fake_hf.image_calls(None)] == ["together", "fal-ai", "hf-inference"]


def test_every_provider_refusing_retires_the_token(fake_hf: FakeHF, store: Store, tmp_path):
    fake_hf.provider_refusals.update({"together", "fal-ai", "hf-inference"})
    pool = _pool(store, A)
    with pytest.raises(TokensExhausted):
        _paint(pool, tmp_path, 1, HFService(None, "auto", 10.0))
    assert pool.ledger()[0].state == "exhausted"


@pytest.mark.parametrize("status", [404, 403])
def test_a_usage_endpoint_that_refuses_leaves_the_estimate_and_the_job_goes_on(
        fake_hf: FakeHF, store: Store, tmp_path, status: int, caplog):
    caplog.set_level(logging.INFO)
    fake_hf.hub_status["usage"] = status
    pool = _pool(store, A, B, measure_every=1)
    assert _paint(pool, tmp_path, 3, HFService(fake_hf.url, "auto", 10.0)) == 3
    [view] = pool.balances()
    assert view.name == "tester" and view.source == "estimated"
    assert view.balance.left_usd == pytest.approx(0.10 - 3 * 0.01)  # one budget for the account, less the ledger
    assert f"HTTP {status}" in view.row.usage_error
    shown = "\n".join(account_lines([view]))
    assert "estimated from the ledger; the hub's balance:" in shown and f"HTTP {status}" in shown
    assert _no_token_in(caplog.text)


def test_a_token_without_billing_rights_lets_a_sibling_read_the_balance(fake_hf: FakeHF, store: Store):
    fake_hf.accounts.update({A: "alice", B: "alice"})
    fake_hf.no_billing.add(A)
    [view] = _pool(store, A, B).balances()
    assert view.source == "measured" and view.row.usage_error == ""
    assert [call.token for call in fake_hf.hub_calls("/billing/usage-v2")] == [A, B]


def test_a_hub_that_cannot_be_reached_stops_nothing(fake_hf: FakeHF, store: Store, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    pool = _pool(store, A)
    assert _paint(pool, tmp_path, 1, HFService(fake_hf.url, "auto", 10.0)) == 1
    [view] = pool.balances()
    assert view.source == "estimated" and view.tokens[0].state == "ok" and view.tokens[0].account == ""


def test_a_fine_grained_token_without_the_inference_permission_is_named(fake_hf: FakeHF, store: Store, caplog):
    fake_hf.no_inference.add(B)
    pool = _pool(store, A, B)
    rows = {row.fingerprint: row for row in pool.ledger()}
    assert rows["…2222"].state == "invalid"
    assert "without the 'Make calls to Inference Providers' permission" in rows["…2222"].problem
    assert rows["…1111"].state == "ok"
    assert "…2222" in caplog.text and _no_token_in(caplog.text)


def test_an_inference_403_for_permission_is_booked_as_such(fake_hf: FakeHF, store: Store, tmp_path):
    pool = TokenPool([Token.of(A)], store, 0.10, clock=lambda: NOW)  # not asked at the hub first
    fake_hf.no_inference.add(A)
    with pytest.raises(TokensExhausted, match="…1111: a token without the 'Make calls to Inference Providers'"):
        _paint(pool, tmp_path, 1, HFService(fake_hf.url, "auto", 10.0))


def test_whoami_is_asked_once_a_day(fake_hf: FakeHF, store: Store):
    _pool(store, A)
    _pool(store, A)
    assert len(fake_hf.hub_calls("/api/whoami-v2")) == 1
    again = TokenPool([Token.of(A)], store, 0.10, clock=lambda: NOW.replace(day=22), hub=HubAccounts())
    again.identify()
    assert len(fake_hf.hub_calls("/api/whoami-v2")) == 2


def test_a_paying_account_stops_at_the_budget(fake_hf: FakeHF, store: Store, tmp_path):
    fake_hf.accounts[A] = "payer"
    fake_hf.can_pay.add("payer")
    fake_hf.included_usd["payer"] = 0.0  # pay-as-you-go: the service would never answer 402
    fake_hf.price_usd = 0.01
    pool = _pool(store, A, budget=0.03, measure_every=1)
    with pytest.raises(TokensExhausted):
        _paint(pool, tmp_path, 6, HFService(fake_hf.url, "auto", 10.0))
    assert len(fake_hf.image_calls()) == 3


def test_the_negative_prompt_goes_only_to_models_that_use_it(fake_hf: FakeHF, store: Store, tmp_path):
    pool = TokenPool([Token.of(A)], store, 1.0, clock=lambda: NOW)
    _paint(pool, tmp_path / "flux", 1, HFService(fake_hf.url, "auto", 10.0))
    _paint(pool, tmp_path / "sd", 1, HFService(fake_hf.url, "auto", 10.0), model="stabilityai/sdxl-turbo")
    flux, sd = (call.body.get("parameters", {}) for call in fake_hf.image_calls())
    assert "negative_prompt" not in flux
    assert sd["negative_prompt"] == load_preset("science", None).images.negative_prompt


def test_answers_are_read_as_the_hub_gives_them():
    whoami = {"name": "alice", "isPro": True, "canPay": True, "auth": {"accessToken": {
        "role": "fineGrained", "fineGrained": {"global": [], "scoped": [{"permissions": ["inference.serverless.write"]}]}}}}
    assert identity_of(whoami).can_infer and identity_of(whoami).is_pro
    usage = usage_of({"usage": {"inferenceProviders": {"includedNanoUsd": 2_000_000_000, "usedNanoUsd": 500_000_000,
                                                       "limitNanoUsd": 0, "periodEnd": 1767225600000}}})
    assert (usage.included_usd, usage.used_usd, usage.limit_usd) == (2.0, 0.5, None)
    assert usage.period_end == datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        usage_of({"usage": {}})
    # What an account may use, whatever its plan: the budget, never less than its credit nor past its limit.
    assert ceiling_usd(Usage(0.0, 0, None, None, None), 5.0) == 5.0  # a free account: no included credit now
    assert ceiling_usd(Usage(2.0, 0, None, None, None), 0.10) == 2.0
    assert ceiling_usd(Usage(2.0, 0, 3.0, None, None), 5.0) == 3.0


def _chat_calls(fake_hf: FakeHF) -> list:
    with fake_hf.lock:
        return [c for c in fake_hf.calls if c.kind == "chat"]


def test_a_402_naming_a_provider_on_a_text_call_moves_it_to_the_next_provider(fake_hf: FakeHF, store: Store):
    """H1: a text call refused by one provider goes to the next, as a picture does; the account is not retired."""
    from engine.backends import llm_asker
    from engine.config import load_settings

    fake_hf.provider_refusals.add("together")
    fake_hf.account_providers["tester"] = ("together", "hf-inference", "fal-ai")
    pool = _pool(store, A)
    settings = load_settings(hf_provider="together", llm_model="meta-llama/Llama-3.3-70B-Instruct")
    ask = llm_asker(settings, pool, "script")
    assert ask([{"role": "user", "content": "Write."}]) and ask([{"role": "user", "content": "Again."}])
    # The router's chat endpoint names the provider in the body ("model:provider"); hf-inference has its own path.
    routes = [call.body["model"].rpartition(":")[2] if ":" in call.body["model"] else call.path.split("/")[1]
              for call in _chat_calls(fake_hf)]
    assert routes == ["together", "hf-inference", "hf-inference"]  # refused once, then the next in the account's order
    row = pool.ledger()[0]
    assert (row.state, row.count_402) == ("ok", 0)
    # H4: the provider mapping was asked with the account's token, for the chat task's providers.
    mappings = fake_hf.hub_calls("/api/models/meta-llama/Llama-3.3-70B-Instruct")
    assert mappings[0].token == A  # ours, before the next provider was asked (the client may ask on its own after)


def test_the_mapping_is_the_accounts_own_order_not_the_anonymous_default(fake_hf: FakeHF, store: Store, tmp_path):
    """H4: asked without a token the hub gives its default order; the account's preferences come with its token."""
    fake_hf.provider_refusals.add("fal-ai")
    fake_hf.account_providers["tester"] = ("fal-ai", "hf-inference", "together")
    pool = _pool(store, A)
    assert _paint(pool, tmp_path, 2, HFService(None, "auto", 10.0)) == 2
    routes = [call.path.split("/")[1] for call in fake_hf.image_calls(None)]
    assert routes == ["fal-ai", "hf-inference", "hf-inference"]  # the default order would have gone to together


def test_a_self_hosted_endpoint_asks_the_hub_nothing_and_no_budget_gates_it(fake_hf: FakeHF, store: Store, tmp_path):
    """H2: with VF_HF_BASE_URL the router's credit, whoami and the budget do not apply; a key need not be a hub token."""
    from engine.backends import token_pool
    from engine.config import load_settings

    key = "sk-selfhosted-0123456789"  # the hub does not know it: whoami would answer 401
    settings = load_settings(data_dir=tmp_path / "data", hf_tokens=key, hf_base_url=fake_hf.url, hf_budget_usd=0.001,
                             image_cost_usd=0.01)
    pool = token_pool(settings, store)
    assert pool is not None and _paint(pool, tmp_path, 3, HFService(fake_hf.url, "auto", 10.0)) == 3
    with fake_hf.lock:
        assert [c for c in fake_hf.calls if c.kind == "hub"] == []  # no whoami, no usage
    assert pool.ledger()[0].state == "ok"
