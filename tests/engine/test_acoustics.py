"""Pauses, cepstra and time warping on signals whose answers are known."""

import numpy as np

from engine.acoustics import (
    RATE,
    Pause,
    cepstra,
    find_pauses,
    in_pauses,
    loudness_db,
    standardise,
    warp_path,
)
from engine.models import Word
from engine.stages.words import asr_windows, snap_to_pauses


def _tone_bursts(spans: list[tuple[float, float]], total: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    samples = rng.normal(0, 1e-3, int(total * RATE)).astype(np.float32)  # a -60 dB noise floor
    for start, end in spans:
        t = np.arange(int(start * RATE), int(end * RATE)) / RATE
        samples[int(start * RATE):int(end * RATE)] += 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return samples


def test_pauses_are_found_to_within_ten_milliseconds_and_short_gaps_are_not_pauses():
    samples = _tone_bursts([(0.2, 0.6), (0.75, 1.2), (1.25, 1.5)], 2.0)
    pauses = find_pauses(samples)
    assert len(pauses) == 3  # the 50 ms gap is a stop inside a word, not a pause
    expected = [(0.0, 0.2), (0.6, 0.75), (1.5, 2.0)]
    for pause, (start, end) in zip(pauses, expected):
        assert abs(pause.start - start) <= 0.01 and abs(pause.end - end) <= 0.01, pause


def test_in_pauses_marks_only_times_strictly_inside():
    inside = in_pauses(np.array([0.1, 0.5, 0.9]), (Pause(0.4, 0.6),))
    assert inside.tolist() == [False, True, False]


def test_cepstra_come_every_ten_milliseconds():
    features = cepstra(_tone_bursts([(0.1, 0.9)], 1.0))
    assert features.shape[1] == 20
    assert abs(len(features) - 100) <= 2
    standard = standardise(features)
    assert np.allclose(standard.mean(axis=0), 0, atol=1e-4)


def test_warp_follows_a_slower_copy():
    rng = np.random.default_rng(3)
    query = rng.normal(size=(80, 20)).repeat(2, axis=0)  # 160 frames of steady chunks
    slower = query.repeat(3, axis=0)[::2]  # the same, 1.5 times slower
    first, last = warp_path(standardise(query), standardise(slower))
    assert first[0] == 0 and last[-1] == len(slower) - 1
    assert np.all(np.diff(first) >= 0)
    expected = np.arange(len(query)) * 1.5
    assert np.median(np.abs(first - expected)) <= 2


def test_word_edges_move_onto_their_pauses():
    # Whisper stretches words into the silences; the pauses say where the words really are.
    words = [Word("one", 0.05, 0.9, scene=0), Word("two", 0.9, 1.9, scene=0), Word("three", 1.9, 2.6, scene=0)]
    pauses = (Pause(0.0, 0.3), Pause(0.7, 1.1), Pause(1.35, 1.45), Pause(1.6, 2.1), Pause(2.5, 3.0))
    snapped = snap_to_pauses(words, pauses, [0.6] * 4)
    assert [(w.start, w.end) for w in snapped] == [(0.3, 0.7), (1.1, 1.6), (2.1, 2.5)]
    # With a short reach only pauses touching a gap are used; the one inside "two" is left alone.
    near = snap_to_pauses(words, pauses, [0.1] * 4)
    assert [(w.start, w.end) for w in near] == [(0.3, 0.7), (1.1, 1.6), (2.1, 2.5)]
    assert all(w.text == v.text for w, v in zip(words, near))


def test_a_word_without_a_nearby_pause_keeps_its_edges():
    words = [Word("a", 1.0, 1.4), Word("b", 1.4, 1.8)]
    snapped = snap_to_pauses(words, (Pause(0.0, 0.2), Pause(3.0, 3.5)), [0.1] * 3)
    assert [(w.start, w.end) for w in snapped] == [(1.0, 1.4), (1.4, 1.8)]


def test_loudness_frames_are_the_rms_of_each_ten_milliseconds():
    samples = _tone_bursts([(0.2, 0.7)], 1.0)
    level = loudness_db(samples)
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), 160)[::80]
    assert len(level) == len(frames)
    assert np.allclose(level, 20 * np.log10(np.sqrt((frames ** 2).mean(axis=1)) + 1e-9))


def test_a_long_recording_is_cut_for_the_recogniser_inside_its_pauses():
    bursts = [(start, start + 2.6) for start in np.arange(0.3, 119.0, 3.0)]  # 0.4 s pauses every 3 s
    samples = _tone_bursts(bursts, 120.0)
    windows = asr_windows(samples, seconds=35.0)  # the cut is sought in the last 3.5 s: a pause is there
    assert windows[0][0] == 0 and windows[-1][1] == len(samples)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))  # nothing left out, nothing twice
    assert all(stop - start <= 35.0 * RATE for start, stop in windows) and len(windows) == 4
    pauses = tuple(Pause(a[1], b[0]) for a, b in zip(bursts, bursts[1:]))
    assert all(in_pauses(np.array([start / RATE]), pauses)[0] for start, _ in windows[1:])
