"""The edge with Hugging Face: InferenceClient calls (FLUX pictures among them) and the hub's account
endpoints, with their errors translated into ours.

Inference goes to VF_HF_BASE_URL when it is set (a self-hosted endpoint), else through Hugging
Face's router to a provider. Hub calls (whoami, billing usage, provider mappings) go where
`huggingface_hub` itself sends them: HF_ENDPOINT, huggingface.co by default.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from PIL import Image

from engine.cache import translate_os_errors
from engine.errors import BackendError
from engine.presets import Preset
from engine.stages.images import VERSION as IMAGES_VERSION
from engine.stages.images import generation_size
from engine.hf_accounts import Identity, Usage, identity_of, usage_of
from engine.tokens import ProviderRefused, Token, TokenPool, TokenRefused, TransientFailure, Unreachable

log = logging.getLogger(__name__)
T = TypeVar("T")
_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{4,}")
# "Pay-as-you go is not enabled for provider fal-ai yet." (the router's 402, as in fal-ai/fal#1043)
_PROVIDER_NAMED = re.compile(r"\bprovider[\s'\"`]+([a-z0-9][a-z0-9_.-]*[a-z0-9])", re.IGNORECASE)
HUB_TIMEOUT = 15.0  # seconds for a hub call: it is asked before a job, which must not hang on it


@dataclass(frozen=True)
class HFService:
    """Where and how to reach the inference service."""

    base_url: str | None  # a self-hosted endpoint or a test server; None: Hugging Face's router
    provider: str
    timeout: float
    providers: tuple[str, ...] = ()  # the order to try providers in (VF_HF_PROVIDERS); empty: the hub's mapping


def _clean(text: str, token: Token | None) -> str:
    """A message with any token in it masked."""
    if token is not None:
        text = text.replace(token.secret.get_secret_value(), token.fingerprint)
    return _TOKEN_LIKE.sub("hf_…", text)[:300]


def _refusal(status: int, text: str, retry: str | None) -> TokenRefused:
    """What a refusal says about the token, its account, or one provider."""
    if status == 402:
        named = _PROVIDER_NAMED.search(text)
        return ProviderRefused(named.group(1).lower()) if named else TokenRefused(402)
    if status == 429:
        return TokenRefused(429, float(retry) if retry and retry.replace(".", "", 1).isdigit() else None)
    if status == 403 and "permission" in text.lower():
        return TokenRefused(403, reason="a token without the 'Make calls to Inference Providers' permission")
    return TokenRefused(status, reason="revoked or mistyped" if status == 401 else f"refused (HTTP {status})")


@contextmanager
def translated(token: Token | None) -> Iterator[None]:
    """Turn Hugging Face client errors into the pool's and ours; no token text gets through."""
    from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

    # The transport library's base error (httpx's) covers dropped connections and DNS failures.
    transport_error = HfHubHTTPError.__mro__[1]
    try:
        yield
    except HfHubHTTPError as error:
        status = error.response.status_code
        if status in (401, 402, 403, 429):
            text = f"{error} {getattr(error.response, 'text', '')}"
            raise _refusal(status, text, error.response.headers.get("Retry-After")) from None
        if status >= 500 or status == 408:
            raise TransientFailure(f"HTTP {status}") from None
        raise BackendError(f"Hugging Face refused the request (HTTP {status}): {_clean(str(error), token)}") from None
    except InferenceTimeoutError:
        raise TransientFailure("timed out") from None
    except ValueError as error:  # the client's own checks: a model no provider serves for the task, a bad answer
        raise BackendError(f"Hugging Face: {_clean(str(error), token)}") from None
    except (transport_error, OSError) as error:  # type: ignore[misc]
        # Refused or not resolved: nothing answers from here (offline); a retry in a second will not change that.
        if any(kind.__name__ in ("ConnectError", "ConnectionRefusedError", "gaierror") for kind in type(error).__mro__):
            raise Unreachable(f"connection failed: {_clean(str(error), token)}") from None
        raise TransientFailure(f"connection failed: {_clean(str(error), token)}") from None


def inference_client(service: HFService, token: Token, model: str | None, provider: str | None = None):  # noqa: ANN201
    """An InferenceClient for one call: the model through a provider, or the configured base URL."""
    from huggingface_hub import InferenceClient

    secret = token.secret.get_secret_value()
    if service.base_url:
        return InferenceClient(base_url=service.base_url, token=secret, timeout=service.timeout)
    return InferenceClient(model=model, provider=provider or service.provider, token=secret,  # type: ignore[arg-type]
                           timeout=service.timeout)


def _hub_json(path: str, token: str, params: dict[str, int] | None = None) -> object:
    """GET a hub API path with `huggingface_hub`'s own session and headers, with a timeout (its default has none)."""
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    with translated(None):
        response = get_session().get(f"{constants.ENDPOINT}{path}", params=params,
                                     headers=build_hf_headers(token=token), timeout=HUB_TIMEOUT)
        hf_raise_for_status(response)
    try:
        return response.json()
    except ValueError:
        raise BackendError(f"the hub's answer to {path} was not JSON") from None


class HubAccounts:
    """The hub's account endpoints, at the hub `huggingface_hub` is set to (HF_ENDPOINT)."""

    def whoami(self, token: str) -> Identity:
        """Who the token belongs to, from `/api/whoami-v2` (what HfApi.whoami asks, with a timeout)."""
        answer = _hub_json("/api/whoami-v2", token)
        if not isinstance(answer, dict):
            raise BackendError("the hub's whoami answer was not understood")
        return identity_of(answer)

    def usage(self, token: str, start: datetime, end: datetime) -> Usage:
        """The account's inference usage from `/api/settings/billing/usage-v2` (undocumented; see hf_accounts)."""
        first = int(start.timestamp())
        answer = _hub_json("/api/settings/billing/usage-v2", token,
                           {"startDate": first, "endDate": max(int(end.timestamp()), first + 1)})
        try:
            return usage_of(answer)
        except ValueError as error:  # not the shape it had: the endpoint changed
            raise BackendError(f"the billing usage answer was not understood ({str(error)[:80]})") from None


def model_providers(model: str, task: str, token: str) -> list[str]:
    """The providers that serve `model` live for `task`, in the account's order, as the hub maps them.

    Asked with the account's token: without one the hub answers its default order, not the account's
    preferences (huggingface.co/settings/inference-providers).
    """
    from huggingface_hub import HfApi

    with translated(None):
        info = HfApi(token=token).model_info(model, expand=["inferenceProviderMapping"],  # type: ignore[list-item]
                                             timeout=HUB_TIMEOUT)
    return [m.provider for m in info.inference_provider_mapping or () if m.status == "live" and m.task == task]


class Routes:
    """The providers a model is asked through, in order; one that refused payment is not asked again in this job."""

    def __init__(self, service: HFService, model: str, task: str = "text-to-image") -> None:
        self.service, self.model, self.task = service, model, task
        self._refused: set[str] = set()
        self._mapping: dict[str, list[str]] = {}  # per token: each account has its own order
        self._lock = threading.Lock()

    def order(self, token: Token) -> list[str | None]:
        """Providers to try now; [None] for a configured base URL, which has none."""
        if self.service.base_url:
            return [None]
        with self._lock:
            if self.service.providers:
                chain = list(self.service.providers)
            elif not self._refused:
                chain = [self.service.provider]  # the happy path asks the hub nothing
            else:
                chain = self._mapped(token)
            return [provider for provider in chain if provider not in self._refused]

    def _mapped(self, token: Token) -> list[str]:
        if token.key not in self._mapping:
            try:
                self._mapping[token.key] = model_providers(self.model, self.task, token.secret.get_secret_value())
            except (TokenRefused, TransientFailure, BackendError) as error:
                log.warning("could not read which providers serve %s: %s", self.model, error)
                self._mapping[token.key] = []
        return self._mapping[token.key]

    def refused(self, asked: str | None, refusal: ProviderRefused) -> None:
        """A provider would not take the call: move on to the next one."""
        with self._lock:
            self._refused |= {refusal.provider} | ({asked} if asked and asked != "auto" else set())
        log.warning("Hugging Face provider %s refused payment for %s; trying the next provider", refusal.provider,
                    self.model)

    def call(self, token: Token, ask: Callable[[object], T]) -> T:
        """`ask(client)` through the first provider that takes it; a 402 naming a provider moves on to the next.

        TokenRefused(402) when none is left: then it is the account that cannot pay.
        """
        tried: set[str | None] = set()
        while remaining := [p for p in self.order(token) if p not in tried]:
            provider = remaining[0]  # the order is read again after a refusal: it may have grown from the hub
            tried.add(provider)
            client = inference_client(self.service, token, self.model, provider)
            try:
                with translated(token):
                    return ask(client)
            except ProviderRefused as refusal:
                self.refused(provider, refusal)
        raise TokenRefused(402, reason="no provider of this model would take the call")


def uses_negative_prompt(model: str) -> bool:
    """Whether a model takes a negative prompt: FLUX models have no classifier-free guidance and ignore it."""
    return "flux" not in model.lower()


class FluxImages:
    """Text-to-image through Hugging Face inference (FLUX.1-schnell by default), one token-pool call per picture."""

    name = "flux"

    def __init__(self, pool: TokenPool, service: HFService, model: str, steps: int, seed: int | None,
                 cost_usd: float, pixels: int = 1024 * 1024) -> None:
        self.pool, self.service, self.model = pool, service, model
        self.steps, self.seed, self.cost_usd, self.pixels = steps, seed, cost_usd, pixels
        self.routes = Routes(service, model)
        from huggingface_hub import InferenceClient  # noqa: F401 - loaded here (0.3 s), not by the first workers

    def settings(self) -> dict[str, object]:
        """Model, provider, steps and seed: what changes the picture."""
        return {"backend": self.name, "model": self.model, "provider": self.service.provider,
                "steps": self.steps, "seed": self.seed, "pixels": self.pixels, "version": IMAGES_VERSION}

    def paint(self, prompt: str, preset: Preset, size: tuple[int, int], out: Path) -> None:
        """Generate the picture for `prompt` (the preset's style is already in it) and fit it to `size`."""
        width, height = generation_size(size, self.pixels)
        # Without a fixed seed, one derived from the prompt: the same prompt gives the same picture.
        seed = self.seed if self.seed is not None else int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
        # FLUX ignores a negative prompt; the preset's "avoid" words are left out rather than sent for nothing.
        negative = preset.images.negative_prompt if uses_negative_prompt(self.model) else ""
        parameters = {"negative_prompt": negative or None, "width": width, "height": height,
                      "num_inference_steps": self.steps, "seed": seed}

        def generate(token: Token) -> Image.Image:
            return self.routes.call(token, lambda client: client.text_to_image(prompt, **parameters))

        image = self.pool.call(generate, self.cost_usd, f"image '{prompt[:40]}'", image=True)
        with translate_os_errors(str(out)):
            # Saved as generated: finishing fits it to the frame, so the picture is re-encoded once, not twice.
            image.convert("RGB").save(out, "PNG", compress_level=1)
