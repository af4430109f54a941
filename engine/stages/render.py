"""Render stage: stills with camera motion, crossfades and burned-in captions, encoded by ffmpeg.

Per-frame Python compositing is what makes the field's tools slow; here each segment (one shot,
ending in its crossfade into the next) is one small ffmpeg filter graph (zoompan, xfade only over
the frames that really blend, libass), segments render in parallel and are cached one by one, and
the master is their stream-copy concatenation with the mixed audio. Each still is decoded and
upscaled once per render into raw YUV, which the segments read without decoding.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pysubs2

from engine.cache import Cache, cache_key, moved, translate_os_errors
from engine.media import run_ffmpeg
from engine.models import Shot, Timeline
from engine.presets import Effects

VERSION = 2
UPSCALE = 1.5  # stills are upscaled once so zoompan's integer crop steps are sub-pixel on screen


@dataclass(frozen=True)
class RenderOptions:
    """Encoder and frame settings for the master."""

    width: int = 1920
    height: int = 1080
    fps: int = 30
    preset: str = "superfast"
    crf: int = 23
    # No B-frames and no lookahead: a third less encoder time on moving stills, for a bitrate
    # (~2-4 Mbit/s at 1080p) still well under what YouTube recommends for uploads.
    x264_params: str = "bframes=0:rc-lookahead=0"
    workers: int = 2
    fonts: Path | None = None  # folder of the caption font (engine.fonts.bold_font_dir)


@dataclass(frozen=True)
class Part:
    """Frames of one shot's clip: `frames` frames starting `offset` frames into the clip."""

    shot: Shot
    clip_frames: int
    offset: int
    frames: int


@dataclass(frozen=True)
class Segment:
    """Frames [start_frame, end_frame) of the video: one shot, whose last `blend` frames cross-fade
    into the first frames of the next (its second part)."""

    index: int
    start_frame: int
    end_frame: int
    parts: tuple[Part, ...]
    blend: int = 0


@dataclass(frozen=True)
class RenderedSegment:
    """A cached encoded segment."""

    index: int
    path: Path


def plan_segments(timeline: Timeline, fps: int, transition: float) -> tuple[Segment, ...]:
    """Cut the video into independently encoded segments: each shot with its crossfade into the next.

    Shot k's clip runs from half a transition before its cut to half a transition after the
    next one, so its camera move is continuous across its own frames and both crossfades.
    """
    shots = timeline.shots
    total = round(timeline.duration * fps)
    cuts = [0] + [round(shot.start * fps) for shot in shots[1:]] + [total]
    lengths = [b - a for a, b in zip(cuts, cuts[1:])]
    wanted = round(transition * fps / 2)
    halves = [min(wanted, lengths[k] // 3, lengths[k + 1] // 3) for k in range(len(shots) - 1)]
    clip_start = [cuts[0]] + [cuts[k] - halves[k - 1] for k in range(1, len(shots))]
    clip_end = [cuts[k + 1] + halves[k] for k in range(len(shots) - 1)] + [total]
    segments: list[Segment] = []
    for k, shot in enumerate(shots):
        clip_frames = clip_end[k] - clip_start[k]
        start = cuts[k] + (halves[k - 1] if k else 0)  # after the crossfade that brought this shot in
        end = clip_end[k]
        if end <= start:
            continue
        parts = (Part(shot, clip_frames, start - clip_start[k], end - start),)
        blend = 2 * halves[k] if k < len(shots) - 1 else 0
        if blend:
            parts += (Part(shots[k + 1], clip_end[k + 1] - clip_start[k + 1], 0, blend),)
        segments.append(Segment(len(segments), start, end, parts, blend))
    return tuple(segments)


def _motion(motion: str, clip_frames: int, offset: int, zoom: float) -> tuple[str, str, str]:
    """zoompan's z, x and y expressions for frame `on + offset` of a camera move over the clip."""
    p = f"((on+{offset})/{max(clip_frames - 1, 1)})"
    centre_x, centre_y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    if motion == "zoom_in":
        return f"1+{zoom}*{p}", centre_x, centre_y
    if motion == "zoom_out":
        return f"1+{zoom}*(1-{p})", centre_x, centre_y
    if motion == "pan_right":
        return f"{1 + zoom}", f"(iw-iw/zoom)*{p}", centre_y
    return f"{1 + zoom}", f"(iw-iw/zoom)*(1-{p})", centre_y


def segment_graph(
    segment: Segment, fps: int, zoom: float, width: int, height: int, ass_name: str | None, fonts: bool = True,
    transition: str = "fade",
) -> str:
    """The filter graph of one segment: motion on each still, a crossfade if two, captions."""
    big_w, big_h = int(width * UPSCALE) // 2 * 2, int(height * UPSCALE) // 2 * 2
    parts = []
    for i, part in enumerate(segment.parts):
        z, x, y = _motion(part.shot.motion, part.clip_frames, part.offset, zoom)
        parts.append(
            f"[{i}:v]scale={big_w}:{big_h}:flags=bicubic,format=yuv420p,"
            f"zoompan=z='{z}':x='{x}':y='{y}':d={part.frames}:s={width}x{height}:fps={fps},"
            f"setsar=1,settb=1/{fps}[p{i}]"
        )
    last = "p0"
    if len(segment.parts) == 2:
        blend = segment.blend or segment.parts[1].frames
        fade = f"xfade=transition={transition}:duration={blend / fps:.6f}:offset=0"
        own = segment.parts[0].frames - blend
        if own > 0:  # xfade costs time on every frame it passes: it sees only the frames that blend
            parts.append(f"[p0]split[a][b];[a]trim=end_frame={own}[own];"
                         f"[b]trim=start_frame={own},setpts=PTS-STARTPTS[tail];[tail][p1]{fade}[fade];"
                         f"[own][fade]concat=n=2:v=1:a=0[x]")
        else:
            parts.append(f"[p0][p1]{fade}[x]")
        last = "x"
    tail = f"ass=filename={ass_name}{':fontsdir=fonts' if fonts else ''}," if ass_name else ""
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
    captions: pysubs2.SSAFile,
    effects: Effects,
    options: RenderOptions,
    folder: Path,
) -> Path:
    """Encode one segment, with its own `captions` (timed from its start), into `folder`."""
    ass_name = None
    if len(captions):
        ass_name = "captions.ass"
        (folder / ass_name).write_text(captions.to_string("ass"), encoding="utf-8")
        if options.fonts:
            (folder / "fonts").symlink_to(options.fonts.resolve(), target_is_directory=True)
    args: list[str] = []
    for part in segment.parts:
        args += ["-i", str(stills[part.shot.index])]
    graph = segment_graph(
        segment, options.fps, effects.zoom, options.width, options.height, ass_name,
        fonts=options.fonts is not None, transition=effects.transition_style,
    )
    (folder / "graph.txt").write_text(graph, encoding="utf-8")
    threads = max(1, (os.cpu_count() or 2) // max(1, options.workers))
    frames = segment.end_frame - segment.start_frame
    out = folder / "segment.mp4"
    args += [
        "-/filter_complex", "graph.txt", "-map", "[out]", "-frames:v", str(frames),
        "-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf), "-profile:v", "high",
        "-x264-params", options.x264_params,
        "-pix_fmt", "yuv420p", "-r", str(options.fps), "-threads", str(threads), "-an", "segment.mp4",
    ]
    # ffmpeg resolves the graph's relative names (captions, fonts) against its working folder,
    # which spares us escaping arbitrary paths inside filter arguments.
    run_ffmpeg(args, what=f"video segment {segment.index + 1}", cwd=folder)
    return out


def render_master(
    segments: tuple[Segment, ...],
    stills: dict[int, Path],
    subs: pysubs2.SSAFile,
    mix_wav: Path,
    effects: Effects,
    options: RenderOptions,
    cache: Cache,
    out: Path,
    on_item: Callable[[bool], None] = lambda cached: None,
) -> Path:
    """Render (or take from the cache) every segment, then join them with the audio into `out`."""

    def one(segment: Segment) -> RenderedSegment:
        captions = _segment_subtitles(subs, segment, options.fps)
        key = cache_key("render.segment", VERSION, {
            "frames": [segment.start_frame, segment.end_frame],
            "parts": [[p.shot.motion, p.clip_frames, p.offset, p.frames, stills[p.shot.index].parent.name]
                      for p in segment.parts],
            "captions": captions.to_string("ass"), "zoom": effects.zoom, "transition": effects.transition_style,
            "options": options.__dict__,
        })
        result, cached = cache.remember(
            key, RenderedSegment,
            lambda folder: RenderedSegment(
                segment.index, render_segment(segment, stills, captions, effects, options, folder)
            ),
            relocate=lambda r, old, new: RenderedSegment(r.index, moved(r.path, old, new)),
        )
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
