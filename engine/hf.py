"""The edge with Hugging Face: InferenceClient calls (FLUX pictures among them), with its errors translated into ours."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PIL import Image

from engine.cache import translate_os_errors
from engine.errors import BackendError
from engine.presets import Preset
from engine.stages.images import VERSION as IMAGES_VERSION
from engine.stages.images import generation_size
from engine.tokens import Token, TokenPool, TokenRefused, TransientFailure

T = TypeVar("T")
_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{4,}")


@dataclass(frozen=True)
class HFService:
    """Where and how to reach the inference service."""

    base_url: str | None  # a self-hosted endpoint or a test server; None: Hugging Face's router
    provider: str
    timeout: float
    endpoint: str | None = None  # the Hub (for token checks); None: huggingface.co


def _clean(text: str, token: Token | None) -> str:
    """A message with any token in it masked."""
    if token is not None:
        text = text.replace(token.secret.get_secret_value(), token.fingerprint)
    return _TOKEN_LIKE.sub("hf_…", text)[:300]


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
            retry = error.response.headers.get("Retry-After")
            raise TokenRefused(status, float(retry) if retry and retry.replace(".", "", 1).isdigit() else None) from None
        if status >= 500 or status == 408:
            raise TransientFailure(f"HTTP {status}") from None
        raise BackendError(f"Hugging Face refused the request (HTTP {status}): {_clean(str(error), token)}") from None
    except InferenceTimeoutError:
        raise TransientFailure("timed out") from None
    except (transport_error, OSError) as error:  # type: ignore[misc]
        raise TransientFailure(f"connection failed: {_clean(str(error), token)}") from None


def inference_client(service: HFService, token: Token, model: str | None):  # noqa: ANN201 - huggingface_hub's type
    """An InferenceClient for one call: the model through the provider, or the configured base URL."""
    from huggingface_hub import InferenceClient

    secret = token.secret.get_secret_value()
    if service.base_url:
        return InferenceClient(base_url=service.base_url, token=secret, timeout=service.timeout)
    return InferenceClient(model=model, provider=service.provider, token=secret, timeout=service.timeout)  # type: ignore[arg-type]


def check_token(service: HFService) -> Callable[[Token], None]:
    """A check that asks the Hub who a token belongs to (401 for a revoked one)."""

    def check(token: Token) -> None:
        from huggingface_hub import HfApi

        with translated(token):
            HfApi(endpoint=service.endpoint or service.base_url).whoami(token=token.secret.get_secret_value())

    return check


class FluxImages:
    """Text-to-image through Hugging Face inference (FLUX.1-schnell by default), one token-pool call per picture."""

    name = "flux"

    def __init__(self, pool: TokenPool, service: HFService, model: str, steps: int, seed: int | None,
                 cost_usd: float, pixels: int = 1024 * 1024) -> None:
        self.pool, self.service, self.model = pool, service, model
        self.steps, self.seed, self.cost_usd, self.pixels = steps, seed, cost_usd, pixels
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

        def generate(token: Token) -> Image.Image:
            client = inference_client(self.service, token, self.model)
            with translated(token):
                return client.text_to_image(
                    prompt, negative_prompt=preset.images.negative_prompt or None, width=width, height=height,
                    num_inference_steps=self.steps, seed=seed,
                )

        image = self.pool.call(generate, self.cost_usd, f"image '{prompt[:40]}'", image=True)
        with translate_os_errors(str(out)):
            # Saved as generated: finishing fits it to the frame, so the picture is re-encoded once, not twice.
            image.convert("RGB").save(out, "PNG", compress_level=1)
