"""Acoustic helpers for word timing: speech features, pauses, and time warping between two takes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import MediaError

RATE = 16000  # Whisper's rate; every helper here works on 16 kHz mono
HOP = 0.01  # seconds per cepstral frame
ENERGY_WINDOW = 0.01  # seconds per energy frame: short, so edges land within 5 ms
ENERGY_HOP = 0.005
MIN_SILENCE = 0.09  # shorter gaps are stop closures inside words, not pauses
CEPSTRA = 20
HIGH_THRESHOLD = 0.2  # of the way from noise floor to loud speech, in dB: clearly speech
LOW_THRESHOLD = 0.06  # still speech when next to clear speech: quiet onsets and tails


@dataclass(frozen=True)
class Pause:
    """A stretch of silence between stretches of speech, in seconds."""

    start: float
    end: float


def load_speech(path: Path) -> np.ndarray:
    """Decode any audio file to 16 kHz mono float32 samples.

    ffmpeg writes them to a raw file that is read in one piece: an hour takes its own 230 MB, where
    decoding in Python (faster-whisper's decode_audio) peaks near three times that.
    """
    from engine.errors import DiskFullError
    from engine.media import run_ffmpeg

    with tempfile.TemporaryDirectory(prefix="vf-speech-") as folder:
        raw = Path(folder) / "speech.f32"
        try:
            run_ffmpeg(["-i", str(path), "-vn", "-ac", "1", "-ar", str(RATE), "-f", "f32le", str(raw)],
                       what=f"audio {path.name}")
        except DiskFullError:
            raise
        except MediaError:
            raise MediaError(f"cannot decode audio {path.name}: it is corrupt or not audio") from None
        return np.fromfile(raw, "<f4")


def cepstra(samples: np.ndarray) -> np.ndarray:
    """Mel cepstra (frames x CEPSTRA), one frame centred every 10 ms."""
    from faster_whisper.feature_extractor import FeatureExtractor

    if len(samples) < 400:
        return np.zeros((0, CEPSTRA), np.float32)
    mel = FeatureExtractor(feature_size=80)(samples.astype(np.float32), padding=0)  # (80, frames), log scale
    bands = mel.shape[0]
    # DCT-II over the mel bands; dropping c0 drops loudness, so takes at other levels compare.
    basis = np.cos(np.pi / bands * (np.arange(bands) + 0.5)[None, :] * np.arange(1, CEPSTRA + 1)[:, None])
    return (basis @ mel).T.astype(np.float32)


def standardise(features: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance per coefficient, so two voices compare."""
    if len(features) == 0:
        return features
    return (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-6)


def loudness_db(samples: np.ndarray) -> np.ndarray:
    """RMS level in dB of 10 ms frames every 5 ms (an hour's frames without an hour's copies)."""
    window, hop = int(ENERGY_WINDOW * RATE), int(ENERGY_HOP * RATE)
    if len(samples) < window:
        return np.full(1, -120.0)
    hops_per_window = window // hop  # the window is a whole number of hops: each frame sums its hops' energy
    count = len(samples) // hop
    energy = np.empty(count)
    step = hop * 65536
    for start in range(0, count * hop, step):
        part = samples[start:min(start + step, count * hop)].astype(np.float64)
        energy[start // hop:start // hop + len(part) // hop] = (part.reshape(-1, hop) ** 2).sum(axis=1)
    frames = np.lib.stride_tricks.sliding_window_view(energy, hops_per_window).sum(axis=1)
    frames = frames[: (len(samples) - window) // hop + 1]
    return 20 * np.log10(np.sqrt(frames / window) + 1e-9)


def find_pauses(samples: np.ndarray, min_silence: float = MIN_SILENCE) -> tuple[Pause, ...]:
    """Silences of at least `min_silence` seconds between stretches of speech.

    Two thresholds (Rabiner and Sambur's endpoint detection): speech is what rises clearly
    above the noise floor, extended outwards while it stays a little above it, so quiet word
    onsets and tails count as speech.
    """
    level = loudness_db(samples)
    floor, speech = np.percentile(level, 5), np.percentile(level, 95)
    span = max(speech - floor, 1e-6)
    high = max(floor + HIGH_THRESHOLD * span, speech - 42.0)
    low = floor + LOW_THRESHOLD * span
    voiced = level >= high
    # Grow each voiced run outwards while the level stays above the low threshold.
    above = level >= low
    grown = voiced.copy()
    for direction in (1, -1):
        order = range(len(level)) if direction == 1 else range(len(level) - 1, -1, -1)
        carrying = False
        for k in order:
            if voiced[k]:
                carrying = True
            elif carrying and above[k]:
                grown[k] = True
            else:
                carrying = False
    quiet = ~grown
    pauses: list[Pause] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(np.int8), [0]))))
    for first, stop in zip(edges[::2], edges[1::2]):
        # A frame is centred half a window after its start.
        start = 0.0 if first == 0 else first * ENERGY_HOP + ENERGY_WINDOW / 2
        end = len(samples) / RATE if stop == len(level) else (stop - 1) * ENERGY_HOP + ENERGY_WINDOW / 2
        # Silence before the first or after the last sound is a pause however short.
        if end - start >= min_silence or first == 0 or stop == len(level):
            pauses.append(Pause(float(start), float(end)))
    return tuple(pauses)


def in_pauses(times: np.ndarray, pauses: tuple[Pause, ...]) -> np.ndarray:
    """Which of `times` fall inside one of `pauses`."""
    inside = np.zeros(len(times), dtype=bool)
    for pause in pauses:
        inside |= (times > pause.start) & (times < pause.end)
    return inside


def warp_path(query: np.ndarray, reference: np.ndarray, open_ends: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For each query frame, the first and last reference frames matched to it along one DTW path.

    With `open_ends` the query may match any stretch of the reference (subsequence DTW), so the
    reference can hold some speech before and after the part the query says.
    """
    from dtw import dtw

    n, m = len(query), len(reference)
    q = query / (np.linalg.norm(query, axis=1, keepdims=True) + 1e-9)
    r = reference / (np.linalg.norm(reference, axis=1, keepdims=True) + 1e-9)
    cost = (1.0 - q @ r.T).astype(np.float64)
    if open_ends:
        # The asymmetric pattern lets the reference run up to twice as slow, or faster without limit.
        path = dtw(cost, step_pattern="asymmetric", open_begin=True, open_end=True)
    else:
        # A band wide enough for a speaker a third faster or slower.
        band = max(60, int(0.35 * max(n, m)))
        try:
            path = dtw(cost, step_pattern="symmetric2", window_type="slantedband", window_args={"window_size": band})
        except ValueError:  # no path inside the band: the takes differ too much in length
            path = dtw(cost, step_pattern="symmetric2")
    first = np.full(n, m, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    np.minimum.at(first, path.index1, path.index2)
    np.maximum.at(last, path.index1, path.index2)
    return first, last
