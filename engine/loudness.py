"""Loudness to a target (YouTube's reference is -14 LUFS, true peak under -1 dBTP).

Integrated loudness is ITU-R BS.1770-4 as pyloudnorm measures it; true peak is the peak of the
signal oversampled four times (BS.1770 Annex 2). Peaks that a plain gain would push over the
ceiling go through a look-ahead limiter. This runs in numpy in well under a second for a
3-minute mix, where ffmpeg's loudnorm (which works at 192 kHz) takes about ten seconds a pass.
"""

from __future__ import annotations

import numpy as np

OVERSAMPLE = 4
CHUNK = 1 << 19  # samples oversampled at a time
MARGIN = 256  # samples of context on each side of a chunk for the resampling filter
LOOKAHEAD = 0.01  # seconds the limiter sees a peak coming
TOLERANCE_LU = 0.2


def _distinct_channels(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """The channels that differ (one, for dual mono) and how many channels there are."""
    channels = samples.reshape(len(samples), -1)
    if channels.shape[1] > 1 and all(np.array_equal(channels[:, 0], channels[:, k]) for k in range(1, channels.shape[1])):
        return channels[:, :1], channels.shape[1]
    return channels, channels.shape[1]


def integrated_lufs(samples: np.ndarray, rate: int) -> float:
    """Gated integrated loudness in LUFS (-inf for silence)."""
    import pyloudnorm

    distinct, count = _distinct_channels(samples)
    level = float(pyloudnorm.Meter(rate).integrated_loudness(distinct.astype(np.float64)))
    # BS.1770 sums the channels' powers: n identical channels read 10*log10(n) dB louder than one.
    return level + 10 * np.log10(count / distinct.shape[1])


def _peak_envelope(samples: np.ndarray) -> np.ndarray:
    """Per sample, the largest oversampled magnitude around it, over all channels.

    Oversampled in chunks (with a margin for the filter), so a long mix never needs four
    times its own size in memory at once.
    """
    from scipy.signal import resample_poly

    channels, _ = _distinct_channels(samples)
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


def to_target(samples: np.ndarray, rate: int, target_lufs: float, ceiling_db: float) -> np.ndarray:
    """`samples` at `target_lufs` integrated with no true peak over `ceiling_db`.

    A gain sets the loudness; when peaks then cross the ceiling they are limited, which costs a
    little loudness, so gain and limiter alternate until both hold (the ceiling wins a tie).
    """
    level = integrated_lufs(samples, rate)
    if not np.isfinite(level):
        return samples  # silence has no loudness to set
    out = samples * 10 ** ((target_lufs - level) / 20)
    for _ in range(6):
        if true_peak_db(out) > ceiling_db:
            out = limit_true_peak(out, rate, ceiling_db)
        level = integrated_lufs(out, rate)
        if abs(target_lufs - level) <= TOLERANCE_LU:
            break
        out = out * 10 ** ((target_lufs - level) / 20)
    if true_peak_db(out) > ceiling_db:
        out = limit_true_peak(out, rate, ceiling_db)
    return out.astype(np.float32)
