"""Loudness to YouTube's reference, checked against ffmpeg's own ebur128 meter."""

from pathlib import Path

import numpy as np

from engine.loudness import integrated_lufs, limit_true_peak, to_target, true_peak_db
from engine.media import measure_loudness, write_wav


def _speechlike(seconds: float, rate: int) -> np.ndarray:
    """Bursts of harmonics with sharp attacks: a crest factor like narration's."""
    rng = np.random.default_rng(5)
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * 140 * k * t + rng.uniform(0, 6)) / k for k in range(1, 8))
    bursts = (np.sin(2 * np.pi * 1.7 * t) > 0.2) * np.exp(-3 * (t % (1 / 1.7)))
    mono = 0.25 * tone * bursts
    return np.stack([mono, mono], axis=1).astype(np.float32)


def test_a_quiet_mix_comes_up_to_minus_14_with_peaks_under_the_ceiling(tmp_path: Path):
    rate = 22050
    quiet = _speechlike(20, rate) * 0.1
    out = to_target(quiet, rate, -14.0, -1.5)
    assert abs(integrated_lufs(out, rate) + 14.0) <= 0.2
    assert true_peak_db(out) <= -1.5 + 0.05
    write_wav(tmp_path / "master.wav", out, rate)
    measured = measure_loudness(tmp_path / "master.wav")  # an independent meter agrees
    assert abs(measured.integrated_lufs + 14.0) <= 0.3 and measured.true_peak_db <= -1.3


def test_the_limiter_only_touches_the_peaks():
    rate = 22050
    signal = _speechlike(5, rate)
    ceiling_db = 20 * np.log10(np.abs(signal).max()) - 4.0
    limited = limit_true_peak(signal, rate, ceiling_db)
    assert true_peak_db(limited) <= ceiling_db + 0.1
    # Samples further than the look-ahead from any sample over the ceiling keep their exact value.
    over = np.abs(signal[:, 0]) > 10 ** (ceiling_db / 20) * 0.9
    near = np.convolve(over, np.ones(int(0.05 * rate)), mode="same") > 0
    assert 0.1 < near.mean() < 0.9  # the test signal has both
    assert np.allclose(limited[~near], signal[~near], atol=1e-6)


def test_silence_stays_silent():
    silence = np.zeros((22050, 2), np.float32)
    assert np.array_equal(to_target(silence, 22050, -14.0, -1.0), silence)


def test_the_block_meter_reads_as_pyloudnorm_does():
    import pyloudnorm

    rate = 48000
    rng = np.random.default_rng(3)
    ramp = np.linspace(0.01, 0.3, rate * 6)
    stereo = np.stack([rng.standard_normal(rate * 6) * ramp, rng.standard_normal(rate * 6) * 0.05], axis=1)
    expected = pyloudnorm.Meter(rate).integrated_loudness(stereo)
    assert abs(integrated_lufs(stereo.astype(np.float32), rate) - expected) < 0.01


def test_mastering_a_block_at_a_time_changes_no_sample(monkeypatch):
    import engine.loudness

    rate = 22050
    loud = _speechlike(12, rate)
    loud[:: int(0.37 * rate)] = 1.0  # clicks the gain alone would push over the ceiling: the limiter crosses block edges
    whole = to_target(loud, rate, -14.0, -1.5)
    monkeypatch.setattr(engine.loudness, "BLOCK", 4099)  # odd-sized blocks, many of them
    blocks = to_target(loud, rate, -14.0, -1.5)
    assert np.abs(whole - blocks).max() < 1e-5
    assert true_peak_db(blocks) <= -1.5 + 0.05 and abs(integrated_lufs(blocks, rate) + 14.0) <= 0.2
