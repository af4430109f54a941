"""ffmpeg and audio file helpers: the bundled ffmpeg binary, WAV I/O and probing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from engine.cache import translate_os_errors
from engine.errors import DiskFullError, InputError, MediaError


@cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg that imageio-ffmpeg ships (or IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@cache
def _setpriv() -> str | None:
    return shutil.which("setpriv")


# Run by sh after setpriv has set the death signal: a parent that died before that (the signal would
# then never come) is no longer our parent, so the encoder does not start at all.
_STILL_OURS = 'parent=$1; shift; [ "$PPID" = "$parent" ] || exit 137; exec "$@"'


def dies_with_parent() -> tuple[str, ...]:
    """A prefix that makes a child process end when ours does, even by SIGKILL (util-linux's setpriv), if present.

    Without it, a killed job leaves its ffmpeg processes encoding for nobody. setpriv sets the death
    signal in the child; a parent killed in the instant before that is caught by the check after it.
    """
    setpriv = _setpriv()
    return (setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", _STILL_OURS, "sh", str(os.getpid())) \
        if setpriv else ()


def run_ffmpeg(args: Sequence[str], what: str, cwd: Path | None = None, loglevel: str = "error") -> str:
    """Run ffmpeg with `args` and return what it logged; raise MediaError (or DiskFullError) naming `what` on failure."""
    command = [*dies_with_parent(), ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", loglevel, "-y", *args]
    # stderr goes to a file: a chatty ffmpeg must never block on a full pipe.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, cwd=cwd)
        code = process.wait()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if code != 0:
        if "No space left on device" in stderr:
            raise DiskFullError(f"disk full while writing {what}")
        tail = " ".join(stderr.strip().splitlines()[-3:])[:400]
        raise MediaError(f"ffmpeg failed on {what}: {tail}")
    return stderr


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float samples in [-1, 1] (mono, or frames x channels) as 16-bit PCM."""
    with WavWriter(path, sample_rate, 1 if samples.ndim == 1 else samples.shape[1]) as out:
        out.write(samples)


class WavWriter:
    """A 16-bit PCM WAV written a block of float samples at a time (`with WavWriter(...) as out: out.write(block)`)."""

    def __init__(self, path: Path, sample_rate: int, channels: int) -> None:
        self.path, self.rate, self.channels = path, sample_rate, channels
        self.handle: wave.Wave_write | None = None

    def __enter__(self) -> WavWriter:
        with translate_os_errors(str(self.path)):
            self.handle = wave.open(str(self.path), "wb")
        self.handle.setnchannels(self.channels)
        self.handle.setsampwidth(2)
        self.handle.setframerate(self.rate)
        return self

    def write(self, samples: np.ndarray) -> None:
        """Append samples (mono, or frames x channels)."""
        assert self.handle is not None
        with translate_os_errors(str(self.path)):
            self.handle.writeframes(_pcm16(samples))

    def __exit__(self, *exc: object) -> None:
        assert self.handle is not None
        with translate_os_errors(str(self.path)):
            self.handle.close()


def _float_samples(pcm: bytes, channels: int) -> np.ndarray:
    """16-bit PCM as float samples in [-1, 1] (mono: 1-D, else frames x channels)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return samples if channels == 1 else samples.reshape(-1, channels)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV as float samples (mono: 1-D) and its sample rate."""
    with wave.open(str(path), "rb") as handle:
        rate, channels = handle.getframerate(), handle.getnchannels()
        return _float_samples(handle.readframes(handle.getnframes()), channels), rate


@dataclass(frozen=True)
class WavInfo:
    """A 16-bit PCM WAV's length in frames, rate and channels."""

    frames: int
    rate: int
    channels: int


def wav_info(path: Path) -> WavInfo:
    """The frames, rate and channels of a 16-bit PCM WAV, read from its header."""
    with wave.open(str(path), "rb") as handle:
        return WavInfo(handle.getnframes(), handle.getframerate(), handle.getnchannels())


def read_wav_span(path: Path, start: int, stop: int) -> np.ndarray:
    """Frames `start` to `stop` of a 16-bit PCM WAV as float samples (mono: 1-D), so long files stream."""
    with wave.open(str(path), "rb") as handle:
        handle.setpos(min(start, handle.getnframes()))
        return _float_samples(handle.readframes(max(0, stop - start)), handle.getnchannels())


WAV_PEAK_BLOCK = 1 << 20  # frames read at a time when looking for a peak


def wav_peak(path: Path, frames: int | None = None) -> float:
    """The largest magnitude among a WAV's first `frames` frames (all of them by default), read a block at a time."""
    frames = wav_info(path).frames if frames is None else frames
    return max((float(np.abs(read_wav_span(path, start, min(frames, start + WAV_PEAK_BLOCK))).max(initial=0.0))
                for start in range(0, frames, WAV_PEAK_BLOCK)), default=0.0)


def decode_audio(source: Path, out: Path, sample_rate: int, channels: int = 1) -> None:
    """Decode any audio file ffmpeg reads into a PCM WAV; an unreadable file is an InputError."""
    if not source.is_file():
        raise InputError(f"audio file {source} does not exist")
    try:
        run_ffmpeg(
            ["-i", str(source), "-vn", "-ac", str(channels), "-ar", str(sample_rate),
             "-c:a", "pcm_s16le", "-f", "wav", str(out)],
            what=str(source),
        )
    except DiskFullError:
        raise
    except MediaError:
        raise InputError(f"cannot decode audio file {source}: it is corrupt or not audio") from None
    if not out.is_file() or os.path.getsize(out) <= 44:
        raise InputError(f"audio file {source} holds no sound")


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds, read by PyAV."""

    duration: float
    width: int | None
    height: int | None
    fps: float | None
    video_codec: str | None
    audio_codec: str | None
    audio_rate: int | None


def probe(path: Path) -> MediaInfo:
    """Streams, size, rate and duration of a media file."""
    import av

    try:
        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            duration = (container.duration or 0) / 1e6
            return MediaInfo(
                duration=duration,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
                fps=float(video.average_rate) if video and video.average_rate else None,
                video_codec=video.codec_context.name if video else None,
                audio_codec=audio.codec_context.name if audio else None,
                audio_rate=audio.codec_context.sample_rate if audio else None,
            )
    except av.error.FFmpegError as error:
        raise MediaError(f"cannot read {path}: {error}") from None


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures of a recording."""

    integrated_lufs: float
    true_peak_db: float
    range_lu: float


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness, true peak and loudness range, by ffmpeg's ebur128 filter."""
    log = run_ffmpeg(
        ["-i", str(path), "-vn", "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
        what=f"loudness of {path.name}", loglevel="info",
    )
    summary = log[log.rfind("Summary:"):]
    found = {
        key: re.search(pattern, summary)
        for key, pattern in (("I", r"I:\s+(-?[\d.]+|-inf) LUFS"), ("Peak", r"Peak:\s+(-?[\d.]+|-inf) dBFS"),
                             ("LRA", r"LRA:\s+(-?[\d.]+) LU"))
    }
    if not all(found.values()):
        raise MediaError(f"ffmpeg printed no loudness summary for {path.name}")
    value = {key: float(match.group(1)) for key, match in found.items()}  # type: ignore[union-attr]
    return Loudness(value["I"], value["Peak"], value["LRA"])
