"""The one settings object, read from `VF_*` environment variables and an optional `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from engine.errors import ConfigError


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("videofactory", appauthor=False))


class Settings(BaseSettings):
    """Everything configurable; built once at the entry point and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="VF_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    output_dir: Path = Path("output")
    database_url: str | None = None
    broker_url: str | None = None  # redis://…: jobs go on a Celery queue that `videofactory worker` processes take
    lease_seconds: float = Field(60.0, ge=3, le=3600)  # a worker renews its job's lease every third of this
    database_busy_seconds: float = Field(30.0, gt=0, le=3600)  # SQLite: how long to wait for another process's write
    presets_dir: Path | None = None  # user presets; default <data_dir>/presets
    cache_max_gb: float | None = Field(None, gt=0)  # after each job, the least recently used entries go above this
    keep_failed_inputs_days: float = Field(7.0, ge=0, le=365)  # a failed job's own input copies, kept to retry it

    # Backends
    words_backend: Literal["auto", "piper", "whisper"] = "auto"
    asr_backend: Literal["faster-whisper", "transformers"] = "faster-whisper"
    # faster-whisper: a CTranslate2 model folder (default: bundled tiny.en, or bundled multilingual
    # base for other languages); transformers: a checkpoint name or folder (default openai/whisper-base).
    whisper_model: str | None = None
    whisper_threads: int = Field(2, ge=1, le=64)
    max_voiceover_minutes: float = Field(60.0, gt=0, le=600)  # the longest own narration accepted (CLI and bot)
    mood_backend: Literal["auto", "embeddings", "lexicon"] = "auto"
    music_dir: Path | None = None  # your own music library; default <data_dir>/music

    # Hugging Face (used when tokens are configured; offline backends otherwise)
    hf_tokens_file: Path | None = None  # one token per line, in addition to VF_HF_TOKENS
    hf_base_url: str | None = None  # a self-hosted inference endpoint (or a test server) instead of the router
    # The hub (token checks, balances, provider mappings) is where huggingface_hub sends it: HF_ENDPOINT.
    hf_provider: str = "auto"
    hf_providers: str = ""  # providers to try in order when one refuses payment, e.g. "fal-ai,together"
    hf_timeout: float = Field(120.0, gt=0)
    hf_max_wait_seconds: float = Field(90.0, ge=0)  # a throttled pool waits this long, then the job pauses
    # What one account may use in a month: its estimate where the hub gives no balance, and the cap
    # of an account that can pay (PRO, or a payment method), which would otherwise spend without limit.
    # Per account a month: the cap of what the factory spends (PRO's included credit; free accounts get none now).
    hf_budget_usd: float = Field(2.0, gt=0)
    hf_measure_every: int = Field(20, ge=1, le=10000)  # pictures between two readings of the balances
    image_backend: Literal["auto", "procedural", "flux"] = "auto"
    # Real pictures first, e.g. "commons,openverse"; empty: the preset's `images.sources`; "none": painted only
    # (no network asked, as for a machine offline).
    image_sources: str = ""
    # An image-text model that orders each shot's shortlist of real pictures by looking at them: a folder, or a
    # hub model used only when already in the local cache (never downloaded for this); "" for none.
    clip_model: str = "openai/clip-vit-base-patch32"
    commons_api_url: str = "https://commons.wikimedia.org/w/api.php"
    openverse_api_url: str = "https://api.openverse.org"
    nasa_api_url: str = "https://images-api.nasa.gov"
    pexels_api_url: str = "https://api.pexels.com"
    pixabay_api_url: str = "https://pixabay.com"
    pexels_key: SecretStr | None = None
    pixabay_key: SecretStr | None = None
    image_model: str = "black-forest-labs/FLUX.1-schnell"
    image_steps: int = Field(4, ge=1, le=100)
    image_pixels: int = Field(1024 * 1024, ge=64 * 64, le=4096 * 4096)  # generated size; the aspect is the frame's
    image_seed: int | None = None  # None: a seed per prompt, so the same prompt gives the same picture
    image_workers: int = Field(4, ge=1, le=32)
    image_cost_usd: float = Field(0.002, ge=0)  # estimated cost of one picture, for the ledger
    script_backend: Literal["auto", "outline", "llm"] = "auto"
    llm_model: str = "meta-llama/Llama-3.3-70B-Instruct"
    kokoro_repo: str = "onnx-community/Kokoro-82M-v1.0-ONNX"  # where the kokoro voice's weights come from
    llm_cost_usd: float = Field(0.002, ge=0)

    # Exports: the longest a platform's cut may be, e.g. VF_EXPORT_MAX_SECONDS='{"tiktok": 180}'
    export_max_seconds: dict[str, Annotated[float, Field(ge=0)]] = {}  # 0: no limit for that profile

    # Render
    render_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                           "veryslow"] = "superfast"  # x264's speed presets
    render_crf: int = Field(23, ge=0, le=51)  # x264's quality scale: lower is better and bigger
    render_workers: int = Field(2, ge=1, le=32)
    fps: int = Field(30, ge=12, le=60)

    # Online services (used by later stages; secrets never printed)
    hf_tokens: SecretStr | None = None
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_local_mode: bool = False  # a local Bot API server: uploads up to 2 GB, no compressed copies
    telegram_allowed: str = ""
    telegram_admins: str = ""  # user IDs that see and may cancel every chat's jobs (always allowed)
    telegram_webhook_url: str | None = None  # set to receive updates by webhook instead of long polling
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = Field(8443, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None  # Telegram sends it back in every webhook request
    youtube_client_secrets: Path | None = None  # the OAuth client file (Desktop app) from Google Cloud Console
    google_token_uri: str | None = None  # Google's OAuth token endpoint, replaced only to test against a local one
    timezone: str = "UTC"  # for daily messages, e.g. Europe/Berlin
    abtest_max_days: int = Field(21, ge=10, le=90)  # whole Pacific days a test may take, burn-in included
    abtest_check_minutes: float = Field(15.0, ge=1, le=1440)  # how often the bot looks at running tests
    plan_check_minutes: float = Field(5.0, ge=0.1, le=1440)  # how often the bot moves the channels' calendars on

    # How the archives' operators can reach you (an e-mail address or a web page), sent in the User-Agent:
    # Wikimedia's User-Agent policy asks bots for it.
    contact: str | None = None

    # The web dashboard (videofactory web)
    web_url: str | None = None  # the address a phone can reach (behind your HTTPS proxy), for /dashboard links
    web_password: SecretStr | None = None  # logs in as an admin without a link; empty or blank: password login off
    web_secret: SecretStr | None = None  # signs session cookies and download links; default: a file in the data dir
    web_login_minutes: float = Field(10.0, gt=0, le=1440)  # how long a /dashboard link may wait to be used
    web_download_hours: float = Field(24.0, gt=0, le=24 * 30)  # how long a download link works
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated); none by default,
    # since any client can send that header: the failed-login limit counts the connecting address then.
    web_trusted_proxies: str = ""

    @field_validator("web_password", mode="before")
    @classmethod
    def _blank_password_is_none(cls, value: object) -> object:
        """An empty or blank password turns password login off (compose passes "" for an unset variable)."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def hf_provider_order(self) -> tuple[str, ...]:
        """VF_HF_PROVIDERS as a tuple of provider names."""
        return tuple(name.strip() for name in self.hf_providers.split(",") if name.strip())

    @property
    def cache_dir(self) -> Path:
        """Folder of the content-addressed stage cache."""
        return self.data_dir / "cache"

    @property
    def image_source_order(self) -> tuple[str, ...] | None:
        """VF_IMAGE_SOURCES as names, in order; () for "none"; None when unset (the preset's order applies)."""
        names = tuple(name.strip().lower() for name in self.image_sources.split(",") if name.strip())
        if names == ("none",):
            return ()
        return names or None

    @property
    def voices_dir(self) -> Path:
        """Where voices fetched from the hub are kept (huggingface_hub's cache layout)."""
        return self.data_dir / "voices"

    @property
    def music_library_dir(self) -> Path:
        """Folder of the user's music: a subfolder per mood, or a sidecar .toml per track."""
        return self.music_dir or self.data_dir / "music"

    @property
    def user_presets_dir(self) -> Path:
        """Folder where users put presets of their own."""
        return self.presets_dir or self.data_dir / "presets"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, SQLite in the data dir unless `VF_DATABASE_URL` is set."""
        return self.database_url or f"sqlite:///{self.data_dir / 'videofactory.db'}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; a bad value becomes a ConfigError naming the variable (never its value)."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"VF_{str(e['loc'][0]).upper()}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except SettingsError as error:  # a structured value (a JSON object) that does not parse
        field = re.search(r'field "(\w+)"', str(error))
        name = f"VF_{field.group(1).upper()}" if field else "a VF_ variable"
        raise ConfigError(f"invalid configuration: {name} is not valid JSON (for example '{{\"tiktok\": 180}}')") from None
