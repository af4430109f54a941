"""The `edge` voice: Microsoft Edge's online neural voices through the `edge-tts` package.

It is an unofficial service that changes without notice: each scene is tried a few times, and the
caller falls back to Piper when it still fails. Word times come from the service's WordBoundary
events (the library asks only for sentence boundaries unless told otherwise) where they match the
written words one to one; otherwise none are given and the words stage times the narration itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from engine.align import match_indices
from engine.errors import BackendError, InputError, MediaError
from engine.media import decode_audio, wav_info
from engine.models import Word
from engine.presets import VoiceStyle
from engine.stages.voice import SpokenText, said
from engine.text import normalise_word, split_words

log = logging.getLogger(__name__)

ATTEMPTS = 3
SAMPLE_RATE = 24000  # the service's "audio-24khz-48kbitrate-mono-mp3"
TICKS_PER_SECOND = 10_000_000  # offsets and durations come in 100 ns ticks
DEFAULT_VOICES = {
    "en": "en-US-AndrewNeural", "ru": "ru-RU-DmitryNeural", "de": "de-DE-ConradNeural", "fr": "fr-FR-HenriNeural",
    "es": "es-ES-AlvaroNeural", "it": "it-IT-DiegoNeural", "pt": "pt-BR-AntonioNeural", "pl": "pl-PL-MarekNeural",
    "uk": "uk-UA-OstapNeural", "tr": "tr-TR-AhmetNeural", "nl": "nl-NL-MaartenNeural",
}


class EdgeTTS:
    """An edge-tts neural voice; word times from its WordBoundary events."""

    name = "edge"

    def __init__(self, style: VoiceStyle, language: str = "en") -> None:
        self.style, self.language = style, language
        self.voice = style.edge or DEFAULT_VOICES.get(language, "")
        if not self.voice:
            raise InputError(f"no edge voice is known for '{language}': name one in the preset's voice.edge")

    def settings(self) -> dict[str, object]:
        """Voice, speed and lexicon: what changes the audio."""
        return {"backend": self.name, "voice": self.voice, "speed": self.style.speed, "lexicon": self.style.lexicon}

    def speak(self, text: str, out: Path) -> SpokenText:
        """`text` spoken by the service, tried ATTEMPTS times; a BackendError when it keeps failing."""
        problem = ""
        for attempt in range(ATTEMPTS):
            try:
                return self._speak_once(text, out)
            except (OSError, asyncio.TimeoutError, MediaError, *_service_errors()) as error:
                problem = f"{type(error).__name__}: {error}"[:200]
                log.info("edge-tts failed (%s); try %d of %d", problem, attempt + 1, ATTEMPTS)
                time.sleep(0.5 * 2**attempt)
        raise BackendError(f"the edge voice failed {ATTEMPTS} times ({problem})")

    def _speak_once(self, text: str, out: Path) -> SpokenText:
        audio, boundaries = asyncio.run(self._stream(said(text, self.style.lexicon)))
        if not audio:
            raise BackendError("the edge voice sent no audio")
        mp3 = out.with_suffix(".mp3")
        mp3.write_bytes(audio)
        decode_audio(mp3, out, SAMPLE_RATE)
        mp3.unlink()
        duration = wav_info(out).frames / SAMPLE_RATE
        return SpokenText(out, duration, SAMPLE_RATE, word_times(text, boundaries, duration))

    async def _stream(self, text: str) -> tuple[bytes, list[tuple[str, float, float]]]:
        import edge_tts

        rate = f"{round((self.style.speed - 1) * 100):+d}%"
        communicate = edge_tts.Communicate(text, self.voice, rate=rate, boundary="WordBoundary")
        audio, boundaries = bytearray(), []
        async for chunk in communicate.stream():
            if chunk["type"] == "audio":
                audio += chunk["data"]
            elif chunk["type"] == "WordBoundary":
                start = chunk["offset"] / TICKS_PER_SECOND
                boundaries.append((chunk["text"], start, start + chunk["duration"] / TICKS_PER_SECOND))
        return bytes(audio), boundaries


def _service_errors() -> tuple[type[Exception], ...]:
    """aiohttp's and edge-tts's own errors: what a failing service raises."""
    import aiohttp
    from edge_tts.exceptions import EdgeTTSException

    return aiohttp.ClientError, EdgeTTSException


def word_times(text: str, boundaries: list[tuple[str, float, float]], duration: float) -> tuple[Word, ...] | None:
    """The written words timed by the service's boundaries, where each written word was heard once, in order."""
    written = split_words(text)
    heard = [normalise_word(word) for word, _, _ in boundaries]
    matched = match_indices([normalise_word(w) for w in written], heard)
    if len(boundaries) != len(written) or len(matched) != len(written):
        return None  # a respelling or a number said as words: not exact, the words stage times them
    times = [boundaries[matched[i][0]] for i in range(len(written))]
    return tuple(Word(w, round(start, 3), round(min(end, duration), 3)) for w, (_, start, end) in zip(written, times))
