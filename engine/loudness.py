"""Loudness to a target (YouTube's reference is -14 LUFS, true peak under -1 dBTP), a block at a time.

Integrated loudness is ITU-R BS.1770-4: K-weighting (pyloudnorm's filter coefficients, run with
their state carried from block to block), 400 ms blocks overlapping by 75 %, an absolute gate at
-70 LUFS and a relative one 10 LU under the ungated level. True peak is the peak of the signal
oversampled four times (BS.1770 Annex 2). Peaks that a plain gain would push over the ceiling go
through a look-ahead limiter.

Everything works on a `Signal` read a span at a time, so an hour of mix is mastered in a few tens of
megabytes; pyloudnorm and ffmpeg's loudnorm both want the whole signal in memory (and loudnorm
works at 192 kHz, about ten seconds a pass for a 3-minute mix).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

OVERSAMPLE = 4
CHUNK = 1 << 19  # samples oversampled at a time
BLOCK = 1 << 18  # samples mastered at a time
MARGIN = 256  # samples of context on each side of a chunk for the resampling filter
LOOKAHEAD = 0.01  # seconds the limiter sees a peak coming
TOLERANCE_LU = 0.2
GATE_BLOCK_HOPS = 4  # a 400 ms gating block is four 100 ms hops (75 % overlap)
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = 10.0


@dataclass(frozen=True)
class Signal:
    """Samples (frames, or frames x channels) read a span at a time, from memory or from a file."""

    length: int
    read: Callable[[int, int], np.ndarray]


def in_memory(samples: np.ndarray) -> Signal:
    """A signal over an array already in memory."""
    return Signal(len(samples), lambda start, stop: samples[start:stop])


def spans(length: int, size: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive blocks (of BLOCK samples unless told) covering `length` samples."""
    size = size or BLOCK
    for start in range(0, length, size):
        yield start, min(length, start + size)


def _as_frames(samples: np.ndarray) -> np.ndarray:
    return samples.reshape(len(samples), -1)


class LoudnessMeter:
    """BS.1770-4 integrated loudness of a signal fed in consecutive blocks."""

    def __init__(self, rate: int, channels: int) -> None:
        import pyloudnorm

        self.rate = rate
        self.stages = [(f.b, f.a, f.passband_gain) for f in pyloudnorm.Meter(rate)._filters.values()]
        self.states = [np.zeros((len(a) - 1, channels)) for _, a, _ in self.stages]  # from rest, as pyloudnorm's
        self.position = 0
        self.partial = 0.0  # energy since the last 100 ms boundary
        self.hops: list[float] = []  # energy per 100 ms, channels summed

    def feed(self, block: np.ndarray) -> None:
        """Take the next samples of the signal."""
        from scipy.signal import lfilter

        weighted = _as_frames(block).astype(np.float64)
        for index, (b, a, gain) in enumerate(self.stages):
            weighted, self.states[index] = lfilter(b, a, weighted, axis=0, zi=self.states[index])
            weighted = weighted * gain
        energy = np.concatenate([[0.0], np.cumsum((weighted ** 2).sum(axis=1))])
        start, stop = self.position, self.position + len(weighted)
        first = len(self.hops) + 1
        bounds = [b for b in (int(k * self.rate / 10) for k in range(first, first + len(weighted) // 100 + 2))
                  if start < b <= stop]
        edges = [0, *(b - start for b in bounds)]
        for low, high in zip(edges, edges[1:]):
            self.hops.append(self.partial + energy[high] - energy[low])
            self.partial = 0.0
        self.partial += energy[-1] - energy[edges[-1]]
        self.position = stop

    def integrated(self, counted_channels: int = 1) -> float:
        """Gated loudness in LUFS (-inf for silence); `counted_channels` copies of each channel (dual mono is 2)."""
        hops = np.asarray(self.hops)
        if len(hops) < GATE_BLOCK_HOPS:
            return float("-inf")
        window = np.lib.stride_tricks.sliding_window_view(hops, GATE_BLOCK_HOPS).sum(axis=1)
        power = window * counted_channels / (0.4 * self.rate)
        with np.errstate(divide="ignore"):
            level = -0.691 + 10 * np.log10(power)
        gated = power[level >= ABSOLUTE_GATE_LUFS]
        if not len(gated):
            return float("-inf")
        relative = -0.691 + 10 * np.log10(gated.mean()) - RELATIVE_GATE_LU
        kept = power[(level > relative) & (level >= ABSOLUTE_GATE_LUFS)]
        return float(-0.691 + 10 * np.log10(kept.mean())) if len(kept) else float("-inf")


def _distinct_channels(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """The channels that differ (one, for dual mono) and how many channels there are."""
    channels = _as_frames(samples)
    if channels.shape[1] > 1 and all(np.array_equal(channels[:, 0], channels[:, k]) for k in range(1, channels.shape[1])):
        return channels[:, :1], channels.shape[1]
    return channels, channels.shape[1]


def integrated_lufs(samples: np.ndarray, rate: int) -> float:
    """Gated integrated loudness in LUFS (-inf for silence)."""
    distinct, count = _distinct_channels(samples)
    meter = LoudnessMeter(rate, distinct.shape[1])
    for start, stop in spans(len(distinct)):
        meter.feed(distinct[start:stop])
    # BS.1770 sums the channels' powers: n identical channels read 10*log10(n) dB louder than one.
    return meter.integrated(count // distinct.shape[1])


def _peak_envelope(samples: np.ndarray) -> np.ndarray:
    """Per sample, the largest oversampled magnitude around it, over all channels.

    Oversampled in chunks (with a margin for the filter), so a long span never needs four
    times its own size in memory at once.
    """
    from scipy.signal import resample_poly

    channels = _as_frames(samples)
    count = len(channels)
    envelope = np.empty(count, np.float32)
    for start in range(0, count, CHUNK):
        stop = min(count, start + CHUNK)
        low, high = max(0, start - MARGIN), min(count, stop + MARGIN)
        oversampled = np.abs(resample_poly(channels[low:high], OVERSAMPLE, 1, axis=0))
        window = oversampled[(start - low) * OVERSAMPLE:(stop - low) * OVERSAMPLE]
        envelope[start:stop] = window.reshape(stop - start, -1).max(axis=1)
    return envelope


def true_peak_db(samples: np.ndarray) -> float:
    """The true peak in dBTP."""
    if not len(samples):
        return float("-inf")
    return float(20 * np.log10(max(float(_peak_envelope(samples).max()), 1e-9)))


def limit_true_peak(samples: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """Samples with every true peak brought under `ceiling_db` by a smooth look-ahead gain."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10 ** (ceiling_db / 20)
    needed = np.minimum(1.0, ceiling / np.maximum(_peak_envelope(samples), 1e-9))
    reach = max(1, int(LOOKAHEAD * rate))
    # The minimum over +-reach, then a mean over reach: each sample's gain is at most what its peak needs.
    gain = uniform_filter1d(minimum_filter1d(needed, size=2 * reach + 1), size=reach)
    return (samples * (gain if samples.ndim == 1 else gain[:, None])).astype(np.float32)


@dataclass(frozen=True)
class Master:
    """How a signal is brought to its target: a gain, then the limiter under `ceiling_db`."""

    signal: Signal
    rate: int
    ceiling_db: float
    context: int  # samples each side that a block's limiter looks at

    def block(self, start: int, stop: int, gain: float) -> np.ndarray:
        """The mastered samples from `start` to `stop`."""
        low, high = max(0, start - self.context), min(self.signal.length, stop + self.context)
        span = (self.signal.read(low, high) * gain).astype(np.float32)
        # Twice at most: a limited peak can still ring over the ceiling once resampled.
        for _ in range(2):
            if true_peak_db(span) > self.ceiling_db:
                span = limit_true_peak(span, self.rate, self.ceiling_db)
        return span[start - low:stop - low]

    def loudness(self, gain: float, counted_channels: int) -> float:
        """Integrated loudness of the whole signal mastered at `gain`."""
        meter = LoudnessMeter(self.rate, _as_frames(self.signal.read(0, 1)).shape[1])
        for start, stop in spans(self.signal.length):
            meter.feed(self.block(start, stop, gain))
        return meter.integrated(counted_channels)


@dataclass(frozen=True)
class GainedMaster:
    """A master with its gain chosen: read it block by block."""

    master: Master
    gain: float

    def block(self, start: int, stop: int) -> np.ndarray:
        """The final samples from `start` to `stop`."""
        return self.master.block(start, stop, self.gain)


def master_gain(signal: Signal, rate: int, target_lufs: float, ceiling_db: float,
                counted_channels: int = 1) -> GainedMaster | None:
    """The gain and limiter that bring `signal` to `target_lufs` with no true peak over `ceiling_db`; None for silence.

    A gain sets the loudness; when peaks then cross the ceiling they are limited, which costs a
    little loudness, so the gain is raised and the whole signal measured again until both hold
    (the ceiling wins a tie). Each round is one pass over the signal, a block at a time.
    """
    reach = max(1, int(LOOKAHEAD * rate))
    master = Master(signal, rate, ceiling_db, context=2 * (MARGIN + 3 * reach) + 64)
    plain = LoudnessMeter(rate, _as_frames(signal.read(0, 1)).shape[1])
    peak = float("-inf")
    for start, stop in spans(signal.length):
        block = signal.read(start, stop)
        plain.feed(block)
        peak = max(peak, true_peak_db(block))
    level = plain.integrated(counted_channels)
    if not np.isfinite(level):
        return None  # silence has no loudness to set
    gain = 10 ** ((target_lufs - level) / 20)
    if peak + 20 * np.log10(gain) <= ceiling_db - 0.1:
        return GainedMaster(master, gain)  # no peak reaches the ceiling: the gain alone is exact
    for _ in range(6):
        level = master.loudness(gain, counted_channels)
        if abs(target_lufs - level) <= TOLERANCE_LU:
            break
        gain *= 10 ** ((target_lufs - level) / 20)
    return GainedMaster(master, gain)


def to_target(samples: np.ndarray, rate: int, target_lufs: float, ceiling_db: float) -> np.ndarray:
    """`samples` (in memory) at `target_lufs` integrated with no true peak over `ceiling_db`."""
    distinct, count = _distinct_channels(samples)
    chosen = master_gain(in_memory(distinct), rate, target_lufs, ceiling_db, count // distinct.shape[1])
    if chosen is None:
        return samples
    out = np.concatenate([chosen.block(start, stop) for start, stop in spans(len(distinct))])
    return np.repeat(out, count // distinct.shape[1], axis=1).reshape(samples.shape).astype(np.float32)
