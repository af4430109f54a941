"""Word timing accuracy against audio whose word boundaries are known.

Two kinds of audio, both spoken by Piper with random duration noise (so no two readings match)
and a noise floor 35 dB under the speech:
- isolated: every word synthesised alone and joined with random 100-600 ms silences;
- continuous: sentences read a little faster than our own voice reads them.
Piper's phoneme alignments of those readings are the reference; for a word said alone, Piper lets
the last phoneme run on into the silence after it, so there the span is clipped to where the
clean clip is audible (above -50 dB of its peak). Each method times the script's words from the
noisy audio alone; errors are absolute differences of word starts and ends, pooled over TRIALS
recordings of each kind (Piper's noise cannot be seeded, so each run hears new readings).

Run: python bench/subtitles.py   (writes bench/results/subtitles.json)
Targets: median <= 30 ms and p95 <= 100 ms for starts and for ends; 100% of words spelled as written.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.align import match_indices
from engine.cache import Cache
from engine.media import read_wav, write_wav
from engine.models import Scene, Script, Word
from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS
from engine.stages.words import FasterWhisperASR, align_to_script, refine_times
from engine.text import normalise_word, split_sentences, split_words

ISOLATED_TEXT = (
    "In September the armies closed the last road into the city. Nearly three million people were trapped "
    "inside, with food for only a few weeks. The first winter was the hardest. Rations fell to a few slices of "
    "bread a day. Drivers crossed the frozen lake every night, and shells broke the ice around their trucks. "
    "Children carried water from the river in buckets. Factories kept working without heat or light. "
    "The orchestra played a symphony while the guns fell silent for one evening. In January the blockade "
    "was finally broken, and a thin line of trains reached the city at last."
)
CONTINUOUS_TEXT = (
    "The detective arrived at the house just after midnight. Nothing seemed out of place, yet the back door "
    "was unlocked and the kettle was still warm. Neighbours remembered a grey car parked on the corner for "
    "three evenings in a row. Nobody had written down the number. The victim kept a diary, but the last "
    "twelve pages had been torn out with care. Forensic teams found a single fingerprint on the window frame. "
    "It belonged to no one in the national database. Weeks passed without a lead, and the newspapers began to "
    "lose interest. Then a letter arrived at the police station, written in the same careful hand as the diary. "
    "Stars are born inside enormous clouds of gas and dust. Gravity pulls the cloud together until the core "
    "becomes hot enough for fusion. From that moment the star shines for millions or even billions of years."
)
NOISE_BELOW_SPEECH_DB = 35.0
AUDIBLE_BELOW_PEAK_DB = 50.0
TRIALS = 3


def _noisy(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    speech_rms = float(np.sqrt(np.mean(samples[np.abs(samples) > 0.01] ** 2)))
    noise = rng.normal(0.0, speech_rms * 10 ** (-NOISE_BELOW_SPEECH_DB / 20), len(samples))
    return (samples + noise).astype(np.float32)


def _audible(samples: np.ndarray, rate: int, start: float, end: float) -> tuple[float, float]:
    """A span clipped to the part of a clean clip that is above the audibility threshold."""
    window = int(0.005 * rate)
    frames = np.lib.stride_tricks.sliding_window_view(np.abs(samples), window)[::window].max(axis=1)
    loud = np.flatnonzero(frames > frames.max() * 10 ** (-AUDIBLE_BELOW_PEAK_DB / 20))
    first, last = loud[0] * window / rate, (loud[-1] + 1) * window / rate
    return max(start, first), min(end, last)


def _script(text: str) -> Script:
    scenes = tuple(
        Scene(index=i, narration=sentence, image_prompt="-", mood="calm")
        for i, sentence in enumerate(split_sentences(text))
    )
    return Script(title="bench", topic="bench", language="en", scenes=scenes, source="own-text")


def isolated_audio(folder: Path, rng: np.random.Generator) -> tuple[Path, Script, list[Word]]:
    """Each word alone, joined by random 100-600 ms silences."""
    voice = PiperTTS(VoiceStyle(speed=1.0), duration_noise=0.8)
    script = _script(ISOLATED_TEXT)
    pieces: list[np.ndarray] = [np.zeros(int(0.3 * 22050), np.float32)]
    reference: list[Word] = []
    rate = 22050
    for scene in script.scenes:
        for k, token in enumerate(split_words(scene.narration)):
            spoken = voice.speak(token, folder / f"word-{scene.index}-{k}.wav")
            samples, rate = read_wav(spoken.audio)
            offset = sum(len(p) for p in pieces) / rate
            (word,) = spoken.words  # type: ignore[misc]
            start, end = _audible(samples, rate, word.start, word.end)
            reference.append(Word(token, offset + start, offset + end, 1.0, scene.index))
            pieces += [samples, np.zeros(int(rng.uniform(0.1, 0.6) * rate), np.float32)]
    audio = folder / "isolated.wav"
    write_wav(audio, _noisy(np.concatenate(pieces), rng), rate)
    return audio, script, reference


def continuous_audio(
    folder: Path, rng: np.random.Generator, pitch: float = 1.0
) -> tuple[Path, Script, list[Word]]:
    """Sentences read 12% faster than our voice, with random durations and 0.3-0.9 s between them.

    `pitch` below 1 plays the reading slower and lower (formants too), like a larger speaker.
    """
    voice = PiperTTS(VoiceStyle(speed=1.12 / pitch), duration_noise=0.8)
    script = _script(CONTINUOUS_TEXT)
    pieces: list[np.ndarray] = [np.zeros(int(0.3 * 22050), np.float32)]
    reference: list[Word] = []
    rate = 22050
    for scene in script.scenes:
        spoken = voice.speak(scene.narration, folder / f"sentence-{scene.index}.wav")
        samples, rate = read_wav(spoken.audio)
        offset = sum(len(p) for p in pieces) / rate
        reference += [Word(w.text, offset + w.start, offset + w.end, 1.0, scene.index) for w in spoken.words or ()]
        pieces += [samples, np.zeros(int(rng.uniform(0.3, 0.9) * rate), np.float32)]
    audio = folder / f"continuous-{pitch}.wav"
    write_wav(audio, _noisy(np.concatenate(pieces), rng), int(rate * pitch))
    scaled = [Word(w.text, w.start / pitch, w.end / pitch, 1.0, w.scene) for w in reference]
    return audio, script, scaled


def lower_voice_audio(folder: Path, rng: np.random.Generator) -> tuple[Path, Script, list[Word]]:
    """The continuous reading by a voice 10% lower than ours, so the warp cannot rely on one timbre."""
    return continuous_audio(folder, rng, pitch=0.9)


CONDITIONS = {
    "isolated_words": isolated_audio,
    "continuous_narration": continuous_audio,
    "continuous_lower_voice": lower_voice_audio,
}


def _errors(reference: list[Word], timed: list[Word | None]) -> dict[str, float]:
    pairs = [(r, t) for r, t in zip(reference, timed, strict=True) if t is not None]
    starts = np.array([abs(t.start - r.start) for r, t in pairs]) * 1000
    ends = np.array([abs(t.end - r.end) for r, t in pairs]) * 1000
    figures: dict[str, float] = {"words": len(reference), "timed": len(pairs)}
    for name, values in (("start", starts), ("end", ends)):
        figures[f"{name}_mean_ms"] = round(float(values.mean()), 1)
        figures[f"{name}_median_ms"] = round(float(np.median(values)), 1)
        figures[f"{name}_p95_ms"] = round(float(np.percentile(values, 95)), 1)
    return figures


def timings(audio: Path, script: Script, reference: list[Word], cache: Cache) -> dict[str, list[Word | None]]:
    """Every method's word timings of one recording, index by index with the reference."""
    samples, rate = read_wav(audio)
    heard = FasterWhisperASR().transcribe(audio, "en")
    written = [normalise_word(w.text) for w in reference]
    matches = match_indices(written, [normalise_word(w.text) for w in heard])
    coarse = align_to_script(script, heard, len(samples) / rate)
    return {
        "whisper_tiny_en_raw": [heard[matches[i][0]] if i in matches else None for i in range(len(reference))],
        "aligned_to_script": list(coarse),
        "aligned_plus_pauses": list(refine_times(audio, script, coarse, None, cache)),
        "aligned_plus_warp_and_pauses": list(refine_times(audio, script, coarse, PiperTTS(VoiceStyle()), cache)),
    }


def measure(build, folder: Path, rng: np.random.Generator, cache: Cache) -> dict[str, object]:
    """Every method's errors over TRIALS recordings made by `build`."""
    references: list[Word] = []
    timed: dict[str, list[Word | None]] = {}
    audio_seconds = 0.0
    for trial in range(TRIALS):
        trial_folder = folder / f"trial-{trial}"
        trial_folder.mkdir()
        audio, script, reference = build(trial_folder, rng)
        samples, rate = read_wav(audio)
        audio_seconds += len(samples) / rate
        for method, words in timings(audio, script, reference, cache).items():
            timed.setdefault(method, []).extend(words)
        references += reference
    figures: dict[str, object] = {"audio_seconds": round(audio_seconds, 1)}
    for method, words in timed.items():
        spelled = sum(1 for w, r in zip(words, references, strict=True) if w is not None and w.text.strip() == r.text)
        figures[method] = {**_errors(references, words), "spelled_as_script": round(spelled / len(references), 3)}
    return figures


def edge_row(folder: Path) -> dict[str, object]:
    """The edge backend's own word times (WordBoundary events, MP3 decoded) against where the words really are.

    Against the local stand-in of the service (tests/edge_server.py): Piper reads the text, the stand-in
    sends its word times as boundaries and its audio as MP3. The words really are where Piper put them,
    moved by whatever the MP3 round trip adds, found by cross-correlating the decoded audio with Piper's
    WAV. This measures our handling (boundary units, MP3 decoding); the service's own accuracy cannot be
    measured offline.
    """
    import edge_tts.communicate

    from engine.stages.edge_voice import EdgeTTS
    from tests.edge_server import FakeEdge

    server = FakeEdge()
    edge_tts.communicate.WSS_URL = server.start()
    reference: list[Word] = []
    timed: list[Word | None] = []
    lags = []
    try:
        for k, sentence in enumerate(split_sentences(CONTINUOUS_TEXT)):
            spoken = EdgeTTS(VoiceStyle(backend="edge"), "en").speak(sentence, folder / f"edge-{k}.wav")
            piper = PiperTTS(VoiceStyle()).speak(sentence, folder / f"piper-{k}.wav")
            lag = _lag(read_wav(piper.audio)[0], piper.sample_rate, read_wav(spoken.audio)[0], spoken.sample_rate)
            lags.append(lag)
            reference += [Word(w.text, w.start + lag, w.end + lag) for w in piper.words]
            timed += list(spoken.words or [None] * len(piper.words))
    finally:
        server.stop()
    spelled = sum(1 for w, r in zip(timed, reference) if w is not None and w.text == r.text)
    return {**_errors(reference, timed), "spelled_as_script": round(spelled / len(reference), 3),
            "mp3_lag_ms": round(1000 * float(np.median(lags)), 1)}


def _lag(original: np.ndarray, rate: int, decoded: np.ndarray, decoded_rate: int) -> float:
    """Seconds by which `decoded` is late against `original` (both resampled to 8 kHz envelopes)."""
    def envelope(samples: np.ndarray, source_rate: int) -> np.ndarray:
        positions = np.arange(0, len(samples) / source_rate, 1 / 8000)
        return np.abs(np.interp(positions, np.arange(len(samples)) / source_rate, samples))

    a, b = envelope(original, rate), envelope(decoded, decoded_rate)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    correlation = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    shift = int(np.argmax(correlation))
    return (shift if shift < size // 2 else shift - size) / 8000


def voice_backend_rows(folder: Path) -> dict[str, object]:
    """A row per voice backend that can run here."""
    return {
        "piper": "its own phoneme alignments are the reference of every row above: exact by construction",
        "edge_local_stand_in": edge_row(folder),
        "kokoro": "gives no word times: timed like a voice-over (aligned_plus_warp_and_pauses above)",
    }


def backends_only() -> None:
    """`--backends`: the per-backend rows alone, added to the saved figures."""
    out = ROOT / "bench" / "results" / "subtitles.json"
    results = json.loads(out.read_text()) if out.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        results["voice_backends"] = voice_backend_rows(Path(tmp))
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["voice_backends"], indent=2))


def main() -> None:
    """Build both recordings, time them every way, print and save the figures."""
    if "--backends" in sys.argv:
        backends_only()
        return
    rng = np.random.default_rng(7)
    results: dict[str, object] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cache = Cache(folder / "cache")
        for name, build in CONDITIONS.items():
            (folder / name).mkdir()
            results[name] = measure(build, folder / name, rng, cache)
        results["voice_backends"] = voice_backend_rows(folder)
    out = ROOT / "bench" / "results" / "subtitles.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in CONDITIONS:
        print(name)
        for method, figures in results[name].items():  # type: ignore[union-attr]
            if isinstance(figures, dict):
                print(f"  {method:<30} start median {figures['start_median_ms']:>6} p95 {figures['start_p95_ms']:>6}"
                      f" | end median {figures['end_median_ms']:>6} p95 {figures['end_p95_ms']:>6}"
                      f" | timed {figures['timed']}/{figures['words']} spelled {figures['spelled_as_script']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
