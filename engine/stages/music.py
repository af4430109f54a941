"""Music stage: a bed per mood segment, crossfaded, ducked under the voice, mixed with it."""

from __future__ import annotations

import hashlib
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.cache import Cache, cache_key, file_digest, translate_os_errors
from engine.errors import InputError
from engine.loudness import Signal, master_gain, spans
from engine.media import WavWriter, decode_audio, read_wav_span, wav_info, wav_peak
from engine.models import MOODS, Mood, Timeline
from engine.presets import MusicStyle

log = logging.getLogger(__name__)

VERSION = 3  # 3: beds computed in float64 time, mixed and mastered a block at a time
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


class Bed(Protocol):
    """A mood bed of a fixed length, rendered a span at a time (an hour of it never sits in memory)."""

    length: int

    def span(self, start: int, stop: int) -> np.ndarray:
        """Mono samples in [-1, 1] from `start` to `stop`."""
        ...


class MusicSource(Protocol):
    """Something that provides a bed of a mood and length."""

    name: str

    def settings(self) -> dict[str, object]:
        """What changes the beds; part of the mix's cache key."""
        ...

    def bed(self, mood: Mood, seconds: float, rate: int, variant: int = 0) -> Bed:
        """A bed of `seconds` length; `variant` picks among several beds of one mood."""
        ...


def _chord_seconds(mood: Mood) -> tuple[float, float]:
    """The beat and a chord's length in seconds."""
    beat = 60.0 / _MOOD_SCORES[mood]["bpm"]
    return beat, 4 * beat * (2 if mood == "calm" else 1)


def _pads(mood: Mood, t: np.ndarray) -> np.ndarray:
    """Chord pads, bass and arpeggios of the mood's progression at times `t` (seconds, float64)."""
    score = _MOOD_SCORES[mood]
    beat, chord_seconds = _chord_seconds(mood)
    out = np.zeros(len(t))
    index = (t // chord_seconds).astype(int) % len(score["chords"])
    local = t % chord_seconds
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
        out[mask] += 0.22 * np.sin(2 * np.pi * _note(root - 12) * tm) * swell[mask]
        if score["arp"]:
            step = (local[mask] // (beat / 2)).astype(int) % len(_QUALITIES[quality])
            freqs = np.array([_note(root + 12 + i) for i in _QUALITIES[quality]])[step]
            decay = np.exp(-6 * (local[mask] % (beat / 2)))
            out[mask] += score["arp"] * 0.5 * np.sin(2 * np.pi * freqs * tm) * decay
    return out


def _synthesised(mood: Mood, t: np.ndarray) -> np.ndarray:
    """The whole bed at times `t`: pads, plus the mood's pulse or low hits."""
    score = _MOOD_SCORES[mood]
    beat, _ = _chord_seconds(mood)
    out = _pads(mood, t)
    if score["pulse"]:
        phase = t % (beat / 2)
        out += score["pulse"] * np.sin(2 * np.pi * _note(-24) * t) * np.exp(-10 * phase)
    if score["hit"]:
        phase = t % (2 * beat)
        out += score["hit"] * np.sin(2 * np.pi * (55 + 40 * np.exp(-20 * phase)) * t) * np.exp(-5 * phase)
    return out


@dataclass(frozen=True)
class SynthesisedBed:
    """A synthesised bed: a function of time, so any span is computed on its own."""

    mood: Mood
    rate: int
    length: int
    scale: float

    def span(self, start: int, stop: int) -> np.ndarray:
        """Mono samples from `start` to `stop` (times in float64: float32 drifts audibly after a few minutes)."""
        t = np.arange(start, min(stop, self.length), dtype=np.float64) / self.rate
        return (_synthesised(self.mood, t) * self.scale).astype(np.float32)


class SynthesisedBeds:
    """Offline beds: soft pads, pulses, arpeggios and low hits, per mood."""

    name = "synth"

    def settings(self) -> dict[str, object]:
        """Only the synthesiser's version changes its beds."""
        return {"source": self.name, "version": VERSION}

    def bed(self, mood: Mood, seconds: float, rate: int, variant: int = 0) -> Bed:
        """Chord pads over the mood's progression, peaking at 0.8."""
        length = int(seconds * rate)
        _, chord_seconds = _chord_seconds(mood)
        # The bed repeats with its progression: its first round holds its peak.
        first_round = np.arange(min(length, int(len(_MOOD_SCORES[mood]["chords"]) * chord_seconds * rate))) / rate
        peak = float(np.abs(_synthesised(mood, first_round)).max(initial=0.0)) or 1.0
        return SynthesisedBed(mood, rate, length, 0.8 / peak)


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
        return LoopedTrack.of(decoded, int(seconds * rate))


@dataclass(frozen=True)
class LoopedTrack:
    """A decoded track repeated to fill `length`, each repeat crossfaded into the next, peaking at 0.8."""

    path: Path
    length: int
    frames: int  # the track's own length
    fade: int
    scale: float

    @classmethod
    def of(cls, decoded: Path, length: int) -> LoopedTrack:
        """The bed of `length` samples made of the decoded track at `decoded`."""
        info = wav_info(decoded)
        frames = info.frames
        fade = min(int(CROSSFADE_SECONDS * info.rate), frames // 4)
        # A crossfade never exceeds the louder of its two sides: the track's own peak is the bed's.
        peak = wav_peak(decoded, min(frames, length)) or 1.0
        return cls(decoded, length, frames, fade, 0.8 / peak)

    def span(self, start: int, stop: int) -> np.ndarray:
        """Mono samples from `start` to `stop`."""
        stop = min(stop, self.length)
        if self.length <= self.frames:  # long enough: played once, no loop
            return read_wav_span(self.path, start, stop) * self.scale
        period = self.frames - self.fade
        pieces = []
        position = start
        while position < stop:
            round_number, offset = divmod(position, period)
            end = min(stop, position + period - offset)
            piece = read_wav_span(self.path, offset, offset + end - position)
            if round_number and offset < self.fade:  # the previous round's tail fades out under this head
                overlap = min(self.fade, offset + len(piece)) - offset
                tail = read_wav_span(self.path, period + offset, period + offset + overlap)
                ramp = np.arange(offset, offset + overlap, dtype=np.float32) / max(1, self.fade - 1)
                piece[:overlap] = tail * (1 - ramp) + piece[:overlap] * ramp
            pieces.append(piece)
            position = end
        return np.concatenate(pieces) * self.scale if pieces else np.zeros(0, np.float32)


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


ENVELOPE_HOP_SECONDS = 0.02


def _speech_envelope(narration_wav: Path) -> np.ndarray:
    """0..1 per 20 ms of the narration: how much speech is present, with fast attack and slow release."""
    info = wav_info(narration_wav)
    hop = max(1, int(info.rate * ENVELOPE_HOP_SECONDS))
    rms: list[np.ndarray] = []
    for start, stop in spans(info.frames, hop * 4096):
        voice = read_wav_span(narration_wav, start, stop)
        padded = np.zeros(-(-len(voice) // hop) * hop, np.float32)
        padded[: len(voice)] = voice
        rms.append(np.sqrt((padded.reshape(-1, hop) ** 2).mean(axis=1)))
    present = (np.concatenate(rms) > 0.02).astype(np.float32) if rms else np.zeros(0, np.float32)
    smooth = np.empty_like(present)
    level = 0.0
    for i, value in enumerate(present):
        level += (value - level) * (0.6 if value > level else 0.05)  # attack ~40 ms, release ~400 ms
        smooth[i] = level
    return smooth


@dataclass(frozen=True)
class PlacedBed:
    """A bed from `start` to `end` of the mix (samples), faded in and out where it crossfades."""

    start: int
    end: int
    bed: Bed
    fade_in: int
    fade_out: int

    def span(self, start: int, stop: int) -> np.ndarray:
        """This bed's samples between `start` and `stop` of the mix, with its fades (zeros outside it)."""
        out = np.zeros(stop - start, np.float32)
        low, high = max(start, self.start), min(stop, self.end)
        if low >= high:
            return out
        local = np.arange(low - self.start, high - self.start, dtype=np.float32)
        ramp = np.ones(high - low, np.float32)
        if self.fade_in:  # as np.linspace(0, 1, fade) over the first samples
            ramp = np.minimum(ramp, local / max(1, self.fade_in - 1))
        if self.fade_out:
            ramp = np.minimum(ramp, (self.end - self.start - 1 - local) / max(1, self.fade_out - 1))
        bed = self.bed.span(low - self.start, high - self.start)
        out[low - start:low - start + len(bed)] = bed * ramp[: len(bed)]
        return out


def _place_beds(segments: tuple[MusicSegment, ...], source: MusicSource, rate: int, total: int) -> list[PlacedBed]:
    """Each segment's bed, overlapping its neighbours by a crossfade."""
    fade = int(CROSSFADE_SECONDS * rate)
    placed = []
    for i, segment in enumerate(segments):
        first, last = i == 0, i == len(segments) - 1
        start = max(0, int(segment.start * rate) - (0 if first else fade // 2))
        end = min(total, int(segment.end * rate) + (0 if last else fade // 2))
        if end <= start:
            continue
        bed = source.bed(segment.mood, (end - start) / rate + 0.01, rate, variant=i)
        placed.append(PlacedBed(start, end, bed, 0 if first else fade, 0 if last else fade))
    return placed


def _end_fades(start: int, stop: int, total: int, edge: int) -> np.ndarray:
    """The music's gain from `start` to `stop`: rising over the first `edge` samples, falling over the last."""
    position = np.arange(start, stop, dtype=np.float32)
    if not edge:
        return np.ones(stop - start, np.float32)
    rise = position / max(1, edge - 1)
    fall = (total - 1 - position) / max(1, edge - 1)
    return np.clip(np.minimum(rise, fall), 0.0, 1.0)


@dataclass(frozen=True)
class RawMix:
    """The mix before mastering: mono float32 samples in a raw file (no clipping, no 16-bit rounding)."""

    path: Path
    rate: int
    length: int

    def signal(self) -> Signal:
        """The mix read a span at a time."""
        return Signal(self.length, lambda start, stop: np.fromfile(
            self.path, "<f4", count=max(0, min(stop, self.length) - start), offset=4 * start))


def mix_music(
    narration_wav: Path, segments: tuple[MusicSegment, ...], style: MusicStyle, source: MusicSource, out: Path
) -> RawMix:
    """Narration plus crossfaded mood beds, ducked under the voice, written a block at a time to `out`."""
    info = wav_info(narration_wav)
    rate, total = info.rate, info.frames
    envelope = _speech_envelope(narration_wav)
    hop = max(1, int(rate * ENVELOPE_HOP_SECONDS))
    beds = _place_beds(segments, source, rate, total)
    edge = min(int(1.5 * rate), total // 4)  # music fades in and out at the very ends
    with translate_os_errors(str(out)), out.open("wb") as handle:
        for start, stop in spans(total):
            music = np.zeros(stop - start, np.float32)
            for placed in beds:
                music += placed.span(start, stop)
            gain_db = style.volume_db + style.ducking_db * envelope[np.arange(start, stop) // hop]
            music *= (10 ** (gain_db / 20)).astype(np.float32) * _end_fades(start, stop, total, edge)
            (read_wav_span(narration_wav, start, stop) * 0.9 + music).astype("<f4").tofile(handle)
    return RawMix(out, rate, total)


def mastered_mix(narration_wav: Path, segments: tuple[MusicSegment, ...], style: MusicStyle, source: MusicSource,
                 cache: Cache) -> tuple[Path, bool]:
    """The narration over its mood beds, at the preset's loudness (cached: a job made again mixes nothing)."""
    key = cache_key("music.master", VERSION, {
        "narration": file_digest(narration_wav), "segments": [[s.start, s.end, s.mood] for s in segments],
        "style": style.model_dump(), "source": source.settings(), "margin": AAC_PEAK_MARGIN_DB,
    })

    def compute(folder: Path) -> Path:
        mix = mix_music(narration_wav, segments, style, source, folder / "mix.f32")
        # YouTube's reference: -14 LUFS, true peak under -1 dBTP; the AAC encoder may add a little, hence the margin.
        master = master_mix(mix, style, AAC_PEAK_MARGIN_DB, folder / "master.wav")
        mix.path.unlink()
        return master

    return cache.remember(key, Path, compute)


def master_mix(mix: RawMix, style: MusicStyle, headroom_db: float, out: Path) -> Path:
    """The mix as a stereo WAV at the preset's integrated loudness, true peaks `headroom_db` under its ceiling."""
    # Both channels carry the mix: BS.1770 counts the second one, so it reads 3 dB louder than the mono.
    chosen = master_gain(mix.signal(), mix.rate, style.loudness_lufs, style.true_peak_db - headroom_db, counted_channels=2)
    with WavWriter(out, mix.rate, 2) as wav:
        for start, stop in spans(mix.length):
            block = chosen.block(start, stop) if chosen else mix.signal().read(start, stop)
            wav.write(np.repeat(block[:, None], 2, axis=1))
    return out
