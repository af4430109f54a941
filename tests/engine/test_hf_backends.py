"""FLUX pictures and language-model scripts through the real InferenceClient, against a local server."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from PIL import Image

from engine.cache import Cache
from engine.errors import BackendError
from engine.hf import HFService, HubAccounts, inference_client, translated
from engine.models import Shot
from engine.presets import load_preset
from engine.hf import FluxImages
from engine.stages.images import paint_shots
from engine.stages.script import llm_script
from engine.store import Store
from engine.tokens import Token, TokenPool, TokensExhausted
from tests.hf_server import FakeHF

A, B, C = "hf_aaaaaaaaaaaaaaaa1111", "hf_bbbbbbbbbbbbbbbb2222", "hf_cccccccccccccccc3333"


@pytest.fixture
def fake(fake_hf):
    return fake_hf


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'db.sqlite'}")


def _shots(count: int) -> tuple[Shot, ...]:
    return tuple(Shot(i, i, i * 2.0, i * 2.0 + 2.0, f"a frozen lake, view {i}", "zoom_in", "calm") for i in range(count))


def _flux(pool: TokenPool, fake: FakeHF) -> FluxImages:
    return FluxImages(pool, HFService(fake.url, "auto", 10.0), "black-forest-labs/FLUX.1-schnell", 4, None, 0.01)


def _no_token_in(text: str) -> bool:
    return all(secret not in text for secret in (A, B, C))


def test_pictures_fail_over_between_tokens_and_none_is_made_twice(fake, store, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    fake.plan(A, "429:30")  # throttled for long: the pool moves on at once
    fake.plan(B, quota=2)  # out of monthly quota after two pictures
    pool = TokenPool([Token.of(t) for t in (A, B, C)], store, 1.0)
    preset = load_preset("true-crime", None)
    stills = paint_shots(_shots(6), preset, _flux(pool, fake), Cache(tmp_path / "cache"), workers=3)
    assert len(stills) == 6
    for still in stills:
        with Image.open(still.path) as picture:
            assert picture.size == (1920, 1080)  # generated at 1344x768, fitted to the frame
    done = fake.image_calls()
    prompts = [call.body["inputs"] for call in done]
    assert sorted(prompts) == sorted(shot.prompt for shot in _shots(6))  # each picture once
    first = done[0].body["parameters"]
    assert (first["width"], first["height"], first["num_inference_steps"]) == (1344, 768, 4)
    assert "negative_prompt" not in first  # FLUX has no classifier-free guidance: the words would be ignored
    states = {row.fingerprint: row.state for row in pool.ledger()}
    assert states == {"…1111": "throttled", "…2222": "exhausted", "…3333": "ok"}
    assert _no_token_in(caplog.text)


def test_a_batch_stopped_by_spent_tokens_resumes_where_it_stopped(fake, store, tmp_path):
    fake.plan(A, quota=3)
    pool = TokenPool([Token.of(A)], store, 1.0)
    cache = Cache(tmp_path / "cache")
    preset = load_preset("science", None)
    with pytest.raises(TokensExhausted) as paused:
        paint_shots(_shots(5), preset, _flux(pool, fake), cache, workers=1)
    assert "…1111: the account's credit is spent" in str(paused.value) and _no_token_in(str(paused.value))
    assert len(fake.image_calls()) == 3
    # A new token arrives; only the two missing pictures are made.
    fresh = TokenPool([Token.of(A), Token.of(B)], store, 1.0)
    items: list[bool] = []
    paint_shots(_shots(5), preset, _flux(fresh, fake), cache, workers=1, on_item=items.append)
    assert items == [True, True, True, False, False]
    assert len(fake.image_calls()) == 5 and len({c.body["inputs"] for c in fake.image_calls()}) == 5


def test_server_errors_and_slow_answers_are_retried(fake, store, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.tokens.BACKOFF_SECONDS", 0.01)
    fake.plan(A, "500", "503", "slow:0.3")
    pool = TokenPool([Token.of(A)], store, 1.0)
    stills = paint_shots(_shots(1), load_preset("science", None), _flux(pool, fake), Cache(tmp_path / "c"), workers=1)
    assert stills[0].path.is_file()
    assert [c.status for c in fake.image_calls(None)] == [500, 503, 200]


def test_a_revoked_token_is_found_at_start(fake, store):
    fake.revoked.add(B)
    pool = TokenPool([Token.of(A), Token.of(B)], store, 1.0, hub=HubAccounts())
    pool.identify()
    assert {row.fingerprint: row.state for row in pool.ledger()} == {"…1111": "ok", "…2222": "invalid"}
    assert fake.hub_calls("/api/whoami-v2")  # asked at the hub, not at the inference URL


def _ask(pool: TokenPool, fake: FakeHF):
    service = HFService(fake.url, "auto", 10.0)

    def ask(messages):
        def chat(token: Token) -> str:
            with translated(token):
                reply = inference_client(service, token, "m").chat_completion(messages, model="m", max_tokens=100)
            return reply.choices[0].message.content

        return pool.call(chat, 0.01, "script")

    return ask


def test_a_malformed_script_is_repaired_by_feeding_back_the_error(fake, store):
    fake.chat_replies.extend([
        "Sure! Here is your script: {not json at all",
        json.dumps({"title": "T", "scenes": [{"narration": "Too short", "image_prompt": "x", "mood": "scary"}]}),
    ])
    pool = TokenPool([Token.of(A)], store, 1.0)
    preset = load_preset("military-history", None)
    script = llm_script("The Road of Life", preset, "short", _ask(pool, fake))
    assert script.source == "llm" and script.title == "The Night Convoy" and len(script.scenes) == 3
    assert [s.mood for s in script.scenes] == ["tense", "dramatic", "uplifting"]
    assert script.scenes[0].image_prompt.startswith(preset.images.prompt_prefix)
    assert script.tags == ("history", "winter", "convoy")
    chats = [c for c in fake.calls if c.path.endswith("/chat/completions")]
    assert len(chats) == 3
    last = chats[-1].body["messages"][-1]["content"]
    assert "not valid" in last and "scenes" in last and "mood" in last  # the validation errors went back
    assert "The Road of Life" in chats[0].body["messages"][1]["content"]


def test_a_model_that_never_writes_valid_json_is_a_clear_error(fake, store):
    fake.chat_replies.extend(["nope"] * 3)
    pool = TokenPool([Token.of(A)], store, 1.0)
    with pytest.raises(BackendError, match="no valid script in 3 tries"):
        llm_script("X", load_preset("science", None), "short", _ask(pool, fake))


def test_an_answer_slower_than_the_timeout_is_asked_again(fake, store, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.tokens.BACKOFF_SECONDS", 0.01)
    fake.plan(A, "slow:1.0")
    pool = TokenPool([Token.of(A)], store, 1.0)
    flux = FluxImages(pool, HFService(fake.url, "auto", 0.3), "m", 4, None, 0.01)
    stills = paint_shots(_shots(1), load_preset("science", None), flux, Cache(tmp_path / "c"), workers=1)
    assert stills[0].path.is_file()
    assert fake.successes[A] == 2  # the slow one (given up on, still sleeping on the server) and the retry
