"""Render stage: stills with camera motion, crossfades and burned-in captions, encoded by ffmpeg.

Per-frame Python compositing is what makes the field's tools slow; here each segment is one
ffmpeg filter graph (zoompan, xfade, libass), segments render in parallel and are cached one
by one, and the master is their stream-copy concatenation with the mixed audio.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pysubs2

from engine.cache import Cache, cache_key, moved, translate_os_errors
from engine.media import run_ffmpeg
from engine.models import Shot, Timeline
from engine.presets import Effects

VERSION = 1
SEGMENT_SECONDS = 20.0  # target length of one independently rendered (and cached) segment
UPSCALE = 1.5  # stills are upscaled once so zoompan's integer crop steps are sub-pixel on screen


@dataclass(frozen=True)
class RenderOptions:
    """Encoder and frame settings for the master."""

    width: int = 1920
    height: int = 1080
    fps: int = 30
    preset: str = "superfast"
    crf: int = 21
    workers: int = 2
    fonts: Path | None = None  # folder of the caption font (engine.fonts.bold_font_dir)


@dataclass(frozen=True)
class Segment:
    """A run of shots rendered as one file; it starts and ends on frame boundaries."""

    index: int
    start_frame: int
    end_frame: int
    shots: tuple[Shot, ...]


@dataclass(frozen=True)
class RenderedSegment:
    """A cached encoded segment."""

    index: int
    path: Path


def plan_segments(timeline: Timeline, fps: int) -> tuple[Segment, ...]:
    """Group shots into segments of about SEGMENT_SECONDS, cutting only between shots."""
    groups: list[list[Shot]] = [[]]
    for shot in timeline.shots:
        if groups[-1] and shot.start - groups[-1][0].start >= SEGMENT_SECONDS:
            groups.append([])
        groups[-1].append(shot)
    total_frames = round(timeline.duration * fps)
    segments = []
    for i, group in enumerate(groups):
        start = 0 if i == 0 else round(group[0].start * fps)
        end = total_frames if i == len(groups) - 1 else round(groups[i + 1][0].start * fps)
        segments.append(Segment(i, start, end, tuple(group)))
    return tuple(segments)


def _motion(motion: str, frames: int, zoom: float) -> tuple[str, str, str]:
    """zoompan's z, x and y expressions for one camera move over `frames` frames."""
    p = f"(on/{max(frames - 1, 1)})"
    centre_x, centre_y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    if motion == "zoom_in":
        return f"1+{zoom}*{p}", centre_x, centre_y
    if motion == "zoom_out":
        return f"1+{zoom}*(1-{p})", centre_x, centre_y
    if motion == "pan_right":
        return f"{1 + zoom}", f"(iw-iw/zoom)*{p}", centre_y
    return f"{1 + zoom}", f"(iw-iw/zoom)*(1-{p})", centre_y


def segment_graph(
    segment: Segment, fps: int, effects: Effects, width: int, height: int, ass_name: str | None
) -> str:
    """The filter graph of one segment: motion per still, crossfades between them, captions."""
    shots = segment.shots
    seg_start = segment.start_frame
    half = round(effects.transition * fps / 2)
    starts = [seg_start] + [round(s.start * fps) for s in shots[1:]]
    ends = [round(s.start * fps) for s in shots[1:]] + [segment.end_frame]
    shortest = min(e - s for s, e in zip(starts, ends))
    half = max(0, min(half, shortest // 3))
    clip_starts = [starts[0]] + [s - half for s in starts[1:]]
    clip_ends = [e + half for e in ends[:-1]] + [ends[-1]]
    big_w, big_h = int(width * UPSCALE) // 2 * 2, int(height * UPSCALE) // 2 * 2
    parts = []
    for i, shot in enumerate(shots):
        frames = clip_ends[i] - clip_starts[i]
        z, x, y = _motion(shot.motion, frames, effects.zoom)
        parts.append(
            f"[{i}:v]scale={big_w}:{big_h}:flags=lanczos,format=yuv420p,"
            f"zoompan=z='{z}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps},"
            f"setsar=1,settb=1/{fps}[s{i}]"
        )
    last = "s0"
    for i in range(1, len(shots)):
        overlap = clip_ends[i - 1] - clip_starts[i]
        offset = (clip_starts[i] - seg_start) / fps
        if overlap > 0:
            parts.append(f"[{last}][s{i}]xfade=transition=fade:duration={overlap / fps:.6f}:offset={offset:.6f}[x{i}]")
        else:
            parts.append(f"[{last}][s{i}]concat=n=2:v=1:a=0[x{i}]")
        last = f"x{i}"
    tail = f"ass=filename={ass_name}:fontsdir=fonts," if ass_name else ""
    parts.append(f"[{last}]{tail}format=yuv420p[out]")
    return ";".join(parts)


def _segment_subtitles(subs: pysubs2.SSAFile, segment: Segment, fps: int) -> pysubs2.SSAFile:
    """The captions that show during a segment, timed from the segment's start."""
    start_ms, end_ms = segment.start_frame * 1000 / fps, segment.end_frame * 1000 / fps
    part = pysubs2.SSAFile()
    part.info.update(subs.info)
    part.styles.update(subs.styles)
    for event in subs:
        if event.end > start_ms and event.start < end_ms:
            part.append(event.copy())
    part.shift(ms=-start_ms)
    return part


def render_segment(
    segment: Segment,
    stills: dict[int, Path],
    subs: pysubs2.SSAFile,
    effects: Effects,
    options: RenderOptions,
    folder: Path,
    on_seconds: Callable[[float], None],
) -> Path:
    """Encode one segment into `folder` and return its file."""
    part = _segment_subtitles(subs, segment, options.fps)
    ass_name = None
    if len(part):
        ass_name = "captions.ass"
        (folder / ass_name).write_text(part.to_string("ass"), encoding="utf-8")
        if options.fonts:
            (folder / "fonts").symlink_to(options.fonts.resolve(), target_is_directory=True)
    args: list[str] = []
    for shot in segment.shots:
        args += ["-i", str(stills[shot.index])]
    graph = segment_graph(segment, options.fps, effects, options.width, options.height, ass_name)
    (folder / "graph.txt").write_text(graph, encoding="utf-8")
    threads = max(1, (os.cpu_count() or 2) // max(1, options.workers))
    frames = segment.end_frame - segment.start_frame
    out = folder / "segment.mp4"
    args += [
        "-/filter_complex", "graph.txt", "-map", "[out]", "-frames:v", str(frames),
        "-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-r", str(options.fps), "-threads", str(threads), "-an", "segment.mp4",
    ]
    # ffmpeg resolves the graph's relative names (captions, fonts) against its working folder,
    # which spares us escaping arbitrary paths inside filter arguments.
    run_ffmpeg(args, what=f"video segment {segment.index + 1}", on_seconds=on_seconds, cwd=folder)
    return out


def render_master(
    timeline: Timeline,
    stills: dict[int, Path],
    subs: pysubs2.SSAFile,
    mix_wav: Path,
    effects: Effects,
    options: RenderOptions,
    cache: Cache,
    out: Path,
    on_progress: Callable[[float], None] = lambda seconds: None,
    on_item: Callable[[bool], None] = lambda cached: None,
) -> Path:
    """Render (or take from the cache) every segment, then join them with the audio into `out`."""
    segments = plan_segments(timeline, options.fps)
    done: dict[int, float] = {}
    lock = threading.Lock()

    def report(index: int, seconds: float) -> None:
        with lock:
            done[index] = seconds
            on_progress(sum(done.values()))

    def one(segment: Segment) -> RenderedSegment:
        ass_events = _segment_subtitles(subs, segment, options.fps).to_string("ass")
        key = cache_key("render.segment", VERSION, {
            "frames": [segment.start_frame, segment.end_frame],
            "shots": [[s.start, s.end, s.motion, stills[s.index].parent.name] for s in segment.shots],
            "captions": ass_events, "effects": effects.model_dump(), "options": options.__dict__,
        })
        result, cached = cache.remember(
            key, RenderedSegment,
            lambda folder: RenderedSegment(segment.index, render_segment(
                segment, stills, subs, effects, options, folder,
                lambda seconds: report(segment.index, seconds))),
            relocate=lambda r, old, new: RenderedSegment(r.index, moved(r.path, old, new)),
        )
        report(segment.index, (segment.end_frame - segment.start_frame) / options.fps)
        on_item(cached)
        return result

    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        rendered = list(pool.map(one, segments))

    with translate_os_errors(str(out.parent)):
        out.parent.mkdir(parents=True, exist_ok=True)
        listing = out.parent / f".{out.stem}.concat.txt"
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file '{str(r.path).replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n" for r in rendered),
            encoding="utf-8",
        )
    partial = out.with_name(f".{out.stem}.part.mp4")
    try:
        run_ffmpeg(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(mix_wav),
             "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-ar", "48000",
             "-movflags", "+faststart", str(partial)],
            what=str(out),
        )
        with translate_os_errors(str(out)):
            os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
    return out
