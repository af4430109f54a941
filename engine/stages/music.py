"""Music stage: a bed per mood segment, crossfaded, ducked under the voice, mixed with it."""

from __future__ import annotations

import hashlib
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.cache import Cache, cache_key, file_digest
from engine.errors import InputError
from engine.loudness import to_target
from engine.media import decode_audio, read_wav, write_wav
from engine.models import MOODS, Mood, Timeline
from engine.presets import MusicStyle

log = logging.getLogger(__name__)

VERSION = 2
MIN_SEGMENT_SECONDS = 12.0
AAC_PEAK_MARGIN_DB = 1.0  # AAC at 48 kHz can raise true peaks by half a dB or more
AUDIO_SUFFIXES = (".mp3", ".wav", ".ogg", ".flac", ".m4a", ".opus")
CROSSFADE_SECONDS = 2.0

_A4 = 440.0


def _note(semitones_from_a3: float) -> float:
    return _A4 / 2 * 2 ** (semitones_from_a3 / 12)


# Chord roots (semitones from A3) and qualities, bars per chord, tempo and texture per mood.
_MOOD_SCORES: dict[Mood, dict] = {
    "calm": {"chords": [(0, "maj7"), (-4, "maj7"), (5, "maj"), (-2, "sus")], "bpm": 60, "pulse": 0.0, "arp": 0.0, "hit": 0.0},
    "tense": {"chords": [(0, "min"), (1, "min"), (0, "min"), (-2, "dim")], "bpm": 96, "pulse": 0.35, "arp": 0.0, "hit": 0.0},
    "dramatic": {"chords": [(0, "min"), (-4, "maj"), (-7, "maj"), (-2, "maj")], "bpm": 72, "pulse": 0.0, "arp": 0.0, "hit": 0.6},
    "uplifting": {"chords": [(3, "maj"), (-2, "maj"), (0, "min"), (-4, "maj")], "bpm": 100, "pulse": 0.0, "arp": 0.3, "hit": 0.0},
}
_QUALITIES = {"maj": (0, 4, 7), "min": (0, 3, 7), "maj7": (0, 4, 7, 11), "sus": (0, 5, 7), "dim": (0, 3, 6)}


@dataclass(frozen=True)
class MusicSegment:
    """A stretch of the video with one mood."""

    start: float
    end: float
    mood: Mood


class MusicSource(Protocol):
    """Something that provides a bed of a mood and length."""

    name: str

    def settings(self) -> dict[str, object]:
        """What changes the beds; part of the mix's cache key."""
        ...

    def bed(self, mood: Mood, seconds: float, rate: int, variant: int = 0) -> np.ndarray:
        """Mono samples in [-1, 1] of `seconds` length; `variant` picks among several beds of one mood."""
        ...


class SynthesisedBeds:
    """Offline beds: soft pads, pulses, arpeggios and low hits, per mood."""

    name = "synth"

    def settings(self) -> dict[str, object]:
        """Only the synthesiser's version changes its beds."""
        return {"source": self.name, "version": VERSION}

    def bed(self, mood: Mood, seconds: float, rate: int, variant: int = 0) -> np.ndarray:
        """Chord pads over the mood's progression, four beats per chord."""
        score = _MOOD_SCORES[mood]
        beat = 60.0 / score["bpm"]
        chord_seconds = 4 * beat * (2 if mood == "calm" else 1)
        total = int(seconds * rate)
        t = np.arange(total, dtype=np.float32) / rate
        out = np.zeros(total, np.float32)
        index = (t // chord_seconds).astype(int) % len(score["chords"])
        local = (t % chord_seconds)
        swell = np.sin(np.pi * local / chord_seconds) ** 0.5  # each chord breathes in and out
        for chord_number, (root, quality) in enumerate(score["chords"]):
            mask = index == chord_number
            if not mask.any():
                continue
            tm = t[mask]
            for interval in _QUALITIES[quality]:
                f = _note(root + interval)
                voice = np.sin(2 * np.pi * f * tm) + 0.3 * np.sin(2 * np.pi * 2 * f * tm + 0.5)
                voice += 0.5 * np.sin(2 * np.pi * f * 1.003 * tm)  # detuned twin: a chorus shimmer
                out[mask] += 0.12 * voice * swell[mask]
            bass = _note(root - 12)
            out[mask] += 0.22 * np.sin(2 * np.pi * bass * tm) * swell[mask]
            if score["arp"]:
                step = (local[mask] // (beat / 2)).astype(int) % len(_QUALITIES[quality])
                freqs = np.array([_note(root + 12 + i) for i in _QUALITIES[quality]])[step]
                decay = np.exp(-6 * (local[mask] % (beat / 2)))
                out[mask] += score["arp"] * 0.5 * np.sin(2 * np.pi * freqs * tm) * decay
        if score["pulse"]:
            phase = t % (beat / 2)
            out += score["pulse"] * np.sin(2 * np.pi * _note(-24) * t) * np.exp(-10 * phase)
        if score["hit"]:
            phase = t % (2 * beat)
            out += score["hit"] * np.sin(2 * np.pi * (55 + 40 * np.exp(-20 * phase)) * t) * np.exp(-5 * phase)
        peak = float(np.abs(out).max()) or 1.0
        return (out / peak * 0.8).astype(np.float32)


@dataclass(frozen=True)
class Track:
    """One file of the user's music library."""

    path: Path
    mood: Mood
    tags: frozenset[str]


def scan_library(folder: Path) -> tuple[Track, ...]:
    """Tracks under `folder`: the mood from a `<track>.toml` sidecar (mood, tags) or the subfolder's name."""
    if not folder.is_dir():
        return ()
    tracks: list[Track] = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
            continue
        sidecar = path.with_name(path.name + ".toml")
        mood, tags = path.parent.name.lower(), frozenset[str]()
        if sidecar.is_file():
            try:
                meta = tomllib.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                raise InputError(f"music sidecar {sidecar}: not valid TOML ({error})") from None
            mood = str(meta.get("mood", mood)).lower()
            tags = frozenset(str(tag).lower() for tag in meta.get("tags", ()))
        if mood in MOODS:
            tracks.append(Track(path, mood, tags))  # type: ignore[arg-type]
        else:
            log.warning("music track %s has no mood (put it in a folder named after one of %s)", path.name, MOODS)
    return tuple(tracks)


class MusicLibrary:
    """The user's own tracks, chosen by mood and preset tags; synthesised beds fill moods it lacks."""

    name = "library"

    def settings(self) -> dict[str, object]:
        """The library's tracks as they are on disk (a track replaced or retagged changes the mix) and the tags."""
        tracks = [[str(t.path), t.path.stat().st_size, t.path.stat().st_mtime_ns, t.mood, sorted(t.tags)]
                  for t in self.tracks]
        return {"source": self.name, "version": VERSION, "tags": sorted(self.tags), "tracks": tracks}

    def __init__(self, tracks: tuple[Track, ...], tags: tuple[str, ...], work: Path) -> None:
        self.tracks = tracks
        self.tags = frozenset(tag.lower() for tag in tags)
        self.work = work
        self.fallback = SynthesisedBeds()

    def pick(self, mood: Mood, variant: int) -> Track | None:
        """A track of `mood`, the best tag match first, taking turns between equally good ones."""
        candidates = [track for track in self.tracks if track.mood == mood]
        if not candidates:
            return None
        best = max(len(track.tags & self.tags) for track in candidates)
        top = [track for track in candidates if len(track.tags & self.tags) == best]
        return top[variant % len(top)]

    def bed(self, mood: Mood, seconds: float, rate: int, variant: int = 0) -> np.ndarray:
        """The chosen track decoded, looped with a crossfade when it is shorter than the segment."""
        track = self.pick(mood, variant)
        if track is None:
            log.info("no %s track in the music library; using a synthesised bed", mood)
            return self.fallback.bed(mood, seconds, rate, variant)
        stat = track.path.stat()
        name = hashlib.sha256(f"{track.path}|{stat.st_size}|{stat.st_mtime_ns}|{rate}".encode()).hexdigest()[:16]
        decoded = self.work / f"track-{name}.wav"
        if not decoded.is_file():
            decode_audio(track.path, decoded, rate)
        samples, _ = read_wav(decoded)
        total = int(seconds * rate)
        fade = min(int(CROSSFADE_SECONDS * rate), len(samples) // 4)
        out = samples[:total].copy()
        while len(out) < total:
            ramp = np.linspace(0, 1, fade, dtype=np.float32)
            out[-fade:] = out[-fade:] * (1 - ramp) + samples[:fade] * ramp
            out = np.concatenate([out, samples[fade:]])[:total]
        peak = float(np.abs(out).max()) or 1.0
        return (out / peak * 0.8).astype(np.float32)


def make_source(library_dir: Path, tags: tuple[str, ...], work: Path) -> MusicSource:
    """The user's library when it holds any track, else the synthesised beds."""
    tracks = scan_library(library_dir)
    return MusicLibrary(tracks, tags, work) if tracks else SynthesisedBeds()


def mood_segments(timeline: Timeline, min_seconds: float = MIN_SEGMENT_SECONDS) -> tuple[MusicSegment, ...]:
    """Music segments that switch mood only at scene cuts and last at least `min_seconds`.

    Scenes of one mood are joined; a segment too short is merged with its shorter neighbour,
    and the merged segment takes the mood that fills most of it.
    """
    spans: list[tuple[float, float, Mood]] = []
    for shot in timeline.shots:
        if spans and spans[-1][2] == shot.mood:
            spans[-1] = (spans[-1][0], shot.end, shot.mood)
        else:
            spans.append((shot.start, shot.end, shot.mood))
    if not spans:
        return ()
    spans[0] = (0.0, spans[0][1], spans[0][2])
    spans[-1] = (spans[-1][0], timeline.duration, spans[-1][2])
    # Each segment keeps how long each mood fills it, so merges pick the dominant mood.
    segments = [(start, end, {mood: end - start}) for start, end, mood in spans]
    while len(segments) > 1:
        lengths = [end - start for start, end, _ in segments]
        shortest = min(range(len(segments)), key=lambda i: lengths[i])
        if lengths[shortest] >= min_seconds:
            break
        if shortest == 0:
            other = 1
        elif shortest == len(segments) - 1:
            other = shortest - 1
        else:
            other = shortest - 1 if lengths[shortest - 1] <= lengths[shortest + 1] else shortest + 1
        first, second = sorted((shortest, other))
        fill = dict(segments[first][2])
        for mood, seconds in segments[second][2].items():
            fill[mood] = fill.get(mood, 0.0) + seconds
        segments[first:second + 1] = [(segments[first][0], segments[second][1], fill)]
    return tuple(MusicSegment(start, end, max(fill, key=lambda mood: fill[mood])) for start, end, fill in segments)


def _speech_envelope(voice: np.ndarray, rate: int) -> np.ndarray:
    """0..1 per sample: how much speech is present, with fast attack and slow release."""
    hop = max(1, rate // 50)
    frames = len(voice) // hop + 1
    padded = np.zeros(frames * hop, np.float32)
    padded[: len(voice)] = voice
    rms = np.sqrt((padded.reshape(frames, hop) ** 2).mean(axis=1))
    present = (rms > 0.02).astype(np.float32)
    smooth = np.empty_like(present)
    level = 0.0
    for i, value in enumerate(present):
        level += (value - level) * (0.6 if value > level else 0.05)  # attack ~40 ms, release ~400 ms
        smooth[i] = level
    return np.repeat(smooth, hop)[: len(voice)]


def mix_music(
    narration_wav: Path, segments: tuple[MusicSegment, ...], style: MusicStyle, source: MusicSource, out: Path
) -> Path:
    """Narration plus crossfaded mood beds, ducked under the voice, written as a stereo WAV."""
    voice, rate = read_wav(narration_wav)
    total = len(voice)
    music = np.zeros(total, np.float32)
    fade = int(CROSSFADE_SECONDS * rate)
    for i, segment in enumerate(segments):
        start = max(0, int(segment.start * rate) - (fade // 2 if i else 0))
        end = min(total, int(segment.end * rate) + (fade // 2 if i < len(segments) - 1 else 0))
        bed = source.bed(segment.mood, (end - start) / rate + 0.01, rate, variant=i)[: end - start]
        ramp = np.ones(end - start, np.float32)
        if i:
            ramp[:fade] = np.linspace(0, 1, min(fade, len(ramp)), dtype=np.float32)[: len(ramp[:fade])]
        if i < len(segments) - 1:
            ramp[-fade:] = np.minimum(ramp[-fade:], np.linspace(1, 0, len(ramp[-fade:]), dtype=np.float32))
        music[start:end] += bed * ramp
    envelope = _speech_envelope(voice, rate)
    gain_db = style.volume_db + style.ducking_db * envelope
    music *= (10 ** (gain_db / 20)).astype(np.float32)
    edge = min(int(1.5 * rate), total // 4)  # music fades in and out at the very ends
    if edge:
        music[:edge] *= np.linspace(0, 1, edge, dtype=np.float32)
        music[-edge:] *= np.linspace(1, 0, edge, dtype=np.float32)
    mixed = voice * 0.9 + music
    peak = float(np.abs(mixed).max())
    if peak > 0.97:
        mixed *= 0.97 / peak
    write_wav(out, np.stack([mixed, mixed], axis=1), rate)
    return out


def mastered_mix(narration_wav: Path, segments: tuple[MusicSegment, ...], style: MusicStyle, source: MusicSource,
                 cache: Cache) -> tuple[Path, bool]:
    """The narration over its mood beds, at the preset's loudness (cached: a job made again mixes nothing)."""
    key = cache_key("music.master", VERSION, {
        "narration": file_digest(narration_wav), "segments": [[s.start, s.end, s.mood] for s in segments],
        "style": style.model_dump(), "source": source.settings(), "margin": AAC_PEAK_MARGIN_DB,
    })

    def compute(folder: Path) -> Path:
        mix = mix_music(narration_wav, segments, style, source, folder / "mix.wav")
        # YouTube's reference: -14 LUFS, true peak under -1 dBTP; the AAC encoder may add a little, hence the margin.
        master = master_mix(mix, style, AAC_PEAK_MARGIN_DB, folder / "master.wav")
        mix.unlink()
        return master

    return cache.remember(key, Path, compute)


def master_mix(mix_wav: Path, style: MusicStyle, headroom_db: float, out: Path) -> Path:
    """The mix at the preset's integrated loudness, true peaks `headroom_db` under its ceiling."""
    samples, rate = read_wav(mix_wav)
    write_wav(out, to_target(samples, rate, style.loudness_lufs, style.true_peak_db - headroom_db), rate)
    return out
