"""Backends chosen by configuration: the token pool, the image backend by registry, the language model.

Stages get the backend objects made here; none of them knows about tokens or settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from engine.cache import Cache, cache_key
from engine.config import Settings
from engine.errors import BackendError, ConfigError
from engine.hf import FluxImages, HFService, HubAccounts, Routes
from engine.models import Script
from engine.presets import Preset, VoiceStyle
from engine.stages import chapter_writer, script
from engine.stages.edge_voice import EdgeTTS
from engine.stages.kokoro_voice import KokoroTTS
from engine.stages.voice import PiperTTS, Voice
from engine.stages.images import ImageBackend, ProceduralPainter
from engine.stock import (CommonsSource, NasaSource, OpenverseSource, PexelsSource, PexelsVideoSource, PictureSource,
                          PixabaySource, PixabayVideoSource)
from engine.store import Store
from engine.tokens import Token, TokenPool, TokensExhausted, read_tokens

log = logging.getLogger(__name__)


def hf_service(settings: Settings) -> HFService:
    """Where the inference service is, from the settings."""
    return HFService(settings.hf_base_url, settings.hf_provider, settings.hf_timeout, settings.hf_provider_order)


def token_pool(settings: Settings, store: Store, fresh: bool = False) -> TokenPool | None:
    """The pool of configured Hugging Face tokens, their accounts known and balances read; None without tokens.

    Who a token belongs to is asked once a day (or now, with `fresh`); the balances before every job.
    """
    tokens = read_tokens(settings.hf_tokens, settings.hf_tokens_file)
    if not tokens:
        return None
    # A self-hosted endpoint (VF_HF_BASE_URL) is no Hugging Face account: its keys need not be hub tokens, and
    # no router credit, whoami or budget applies to it. Its own refusals (401, 429) still move the pool.
    hosted = bool(settings.hf_base_url)
    pool = TokenPool(tokens, store, settings.hf_budget_usd, max_wait_seconds=settings.hf_max_wait_seconds,
                     hub=None if hosted else HubAccounts(), measure_every=settings.hf_measure_every,
                     metered=not hosted)
    pool.identify(force=fresh)
    pool.measure()
    return pool


def wants_tokens(settings: Settings) -> bool:
    """Whether the configuration may use Hugging Face at all."""
    return settings.image_backend != "procedural" or settings.script_backend != "outline"


def check_configuration(settings: Settings) -> None:
    """The backends' configuration is usable (tokens well-formed, a backend that needs tokens has them); no network."""
    tokens = read_tokens(settings.hf_tokens, settings.hf_tokens_file)
    for backend, name in ((settings.image_backend, "VF_IMAGE_BACKEND=flux"), (settings.script_backend, "VF_SCRIPT_BACKEND=llm")):
        if backend in ("flux", "llm") and not tokens:
            raise ConfigError(f"{name} needs Hugging Face tokens: set VF_HF_TOKENS or VF_HF_TOKENS_FILE")


def checked_pool(settings: Settings, store: Store) -> TokenPool | None:
    """The pool when the configuration may use it; a ConfigError when a backend insists on one and none is set."""
    pool = token_pool(settings, store) if wants_tokens(settings) else None
    for backend, name in ((settings.image_backend, "VF_IMAGE_BACKEND=flux"), (settings.script_backend, "VF_SCRIPT_BACKEND=llm")):
        if backend in ("flux", "llm") and pool is None:
            raise ConfigError(f"{name} needs Hugging Face tokens: set VF_HF_TOKENS or VF_HF_TOKENS_FILE")
    return pool


def _procedural(settings: Settings, pool: TokenPool | None) -> ImageBackend:
    return ProceduralPainter()


def _flux(settings: Settings, pool: TokenPool | None) -> ImageBackend:
    if pool is None:
        raise ConfigError("VF_IMAGE_BACKEND=flux needs Hugging Face tokens: set VF_HF_TOKENS or VF_HF_TOKENS_FILE")
    return FluxImages(pool, hf_service(settings), settings.image_model, settings.image_steps, settings.image_seed,
                      settings.image_cost_usd, settings.image_pixels)


IMAGE_BACKENDS: dict[str, Callable[[Settings, TokenPool | None], ImageBackend]] = {
    "procedural": _procedural,
    "flux": _flux,
}


def image_backend(settings: Settings, pool: TokenPool | None) -> ImageBackend:
    """The image backend VF_IMAGE_BACKEND names; "auto" is FLUX with tokens, the procedural painter without."""
    name = settings.image_backend
    if name == "auto":
        name = "flux" if pool is not None else "procedural"
    return IMAGE_BACKENDS[name](settings, pool)


def image_workers(settings: Settings, backend: ImageBackend) -> int:
    """Pictures made at once: a remote service waits on the network, the painter on the CPU."""
    return settings.image_workers if backend.name == "flux" else settings.render_workers


STOCK_SOURCES = ("commons", "openverse", "nasa", "pexels", "pixabay", "pexels-video", "pixabay-video")


def picture_sources(settings: Settings, names: tuple[str, ...], client: httpx.Client) -> list[PictureSource]:
    """The named sources, in order; one that needs a key and has none is skipped with one log line."""
    keys = {"pexels": settings.pexels_key, "pixabay": settings.pixabay_key,
            "pexels-video": settings.pexels_key, "pixabay-video": settings.pixabay_key}
    made: list[PictureSource] = []
    for name in names:
        if name not in STOCK_SOURCES:
            raise ConfigError(f"unknown picture source '{name}'; known: {', '.join(STOCK_SOURCES)}")
        if name in keys and keys[name] is None:
            log.info("the picture source %s needs VF_%s_KEY: skipped", name, name.removesuffix("-video").upper())
            continue
        key = keys[name].get_secret_value() if name in keys and keys[name] else ""
        made.append({
            "commons": lambda: CommonsSource(settings.commons_api_url, client),
            "openverse": lambda: OpenverseSource(settings.openverse_api_url, client),
            "nasa": lambda: NasaSource(settings.nasa_api_url, client),
            "pexels": lambda: PexelsSource(settings.pexels_api_url, client, key),
            "pixabay": lambda: PixabaySource(settings.pixabay_api_url, client, key),
            "pexels-video": lambda: PexelsVideoSource(settings.pexels_api_url, client, key),
            "pixabay-video": lambda: PixabayVideoSource(settings.pixabay_api_url, client, key),
        }[name]())
    return made


def voice_backend(style: VoiceStyle, language: str, settings: Settings) -> Voice:
    """The preset's voice backend (`voice.backend`): Piper, an edge voice, or Kokoro."""
    backends: dict[str, Callable[[VoiceStyle, str], Voice]] = {
        "piper": PiperTTS, "edge": EdgeTTS,
        "kokoro": lambda style, language: KokoroTTS(style, language, settings.voices_dir, settings.kokoro_repo),
    }
    return backends[style.backend](style, language)


def uses_llm(settings: Settings, pool: TokenPool | None) -> bool:
    """Whether a topic's script is written by the language model."""
    return pool is not None and settings.script_backend in ("auto", "llm")


def llm_asker(settings: Settings, pool: TokenPool, purpose: str) -> Callable[[list[dict[str, str]]], str]:
    """Chat messages in, the model's reply out: through the token pool, booked under `purpose`."""
    # A provider's 402 moves the call on to the next provider, as for pictures; only when none will take it is
    # the account taken to be out of credit.
    routes = Routes(hf_service(settings), settings.llm_model, "conversational")

    def ask(messages: list[dict[str, str]]) -> str:
        def chat(token: Token) -> str:
            reply = routes.call(token, lambda client: client.chat_completion(
                messages, model=settings.llm_model, max_tokens=4096, temperature=0.7))
            return reply.choices[0].message.content or ""

        return pool.call(chat, settings.llm_cost_usd, purpose)

    return ask


def llm_script(topic: str, preset: Preset, length: str, pool: TokenPool, settings: Settings, cache: Cache,
               minutes: int | None = None) -> Script:
    """The language model's script (cached, so a resumed job never asks twice), or the outline if it cannot write one.

    A long video (`minutes`) is written chapter by chapter, each call cached on its own, so a job
    killed half-way asks only for the chapters it did not have.
    """
    ask = llm_asker(settings, pool, "script")

    def ask_once(messages: list[dict[str, str]]) -> str:
        key = cache_key("script.llm.call", script.VERSION, {"model": settings.llm_model, "messages": messages})
        return cache.remember(key, str, lambda folder: ask(messages))[0]

    inputs = {"topic": topic, "length": length, "template": preset.llm.script, "model": settings.llm_model,
              "prefix": preset.images.prompt_prefix, "suffix": preset.images.prompt_suffix}
    if minutes:
        inputs |= {"minutes": minutes, "template": [preset.llm.chapter_outline, preset.llm.chapter]}
    key = cache_key("script.llm", script.VERSION, inputs)
    try:
        if minutes:
            return cache.remember(key, Script, lambda folder: chapter_writer.chaptered_llm_script(
                topic, preset, minutes, ask_once))[0]
        return cache.remember(key, Script, lambda folder: script.llm_script(topic, preset, length, ask))[0]
    except TokensExhausted:
        raise
    except BackendError as error:
        log.warning("the language model could not write the script (%s); using the preset's outline", error)
        return script.outline_script(topic, preset, length, minutes)
