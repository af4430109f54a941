"""Render stage: stills with camera motion, crossfades and burned-in captions, encoded by ffmpeg.

Per-frame Python compositing is what makes the field's tools slow; here each segment (one shot,
ending in its crossfade into the next) is one small ffmpeg filter graph, segments render in
parallel and are cached one by one, and the master is their stream-copy concatenation with the
soundtrack, which is encoded alongside them. Pans crop a once-scaled still a whole pixel per
frame (nothing resampled per frame, and the encoder sees a still that slides); zooms are zoompan
on a still upscaled once; fades use fade and overlay, xfade only the patterned transitions;
captions are drawn by libass.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pysubs2

from engine.cache import Cache, cache_key, file_digest, translate_os_errors
from engine.media import run_ffmpeg
from engine.models import Shot, Timeline
from engine.presets import Effects

VERSION = 3
FOOTAGE_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv")
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


def pan_speed(zoom: float, width: int, clip_frames: int) -> int:
    """Whole pixels a pan moves per frame: the preset's zoom margin spread over the clip, rounded.

    0 means slower than half a pixel a frame (a long shot, a narrow frame): such a pan is resampled
    per frame instead, since one pixel a frame would crop it to more than twice the preset's zoom.
    """
    return round(zoom * width / max(clip_frames - 1, 1))


def _pan(i: int, part: Part, zoom: float, width: int, height: int) -> str:
    """A pan that moves a whole number of pixels per frame over the still, scaled once.

    Every frame is then an exact shift of the one before, so nothing is resampled per frame (no
    shimmer) and the encoder sees one motion vector for the whole picture, which costs it about
    what a still costs. A 4:2:0 picture can only be cut at even columns, so frames at odd columns
    come from a copy of the still shifted by one pixel before its colours were subsampled.
    """
    speed = pan_speed(zoom, width, part.clip_frames)
    travel = speed * (part.clip_frames - 1)
    big_w = (width + travel + 3) // 2 * 2  # two columns spare for the shifted copy
    big_h = (round(height * big_w / width) + 1) // 2 * 2
    top = (big_h - height) // 4 * 2
    step = f"{speed}*(n+{part.offset})"
    x = step if part.shot.motion == "pan_right" else f"{travel}-{step}"
    hold = f"loop=loop={part.frames - 1}:size=1"

    def cut(at: str) -> str:
        return f"crop={width}:{height}:x='{at}':y={top}:exact=1"

    head = f"[{i}:v]scale={big_w}:{big_h}:flags=lanczos,format=rgb24"
    if speed % 2 == 0:  # every frame lands on an even column
        return f"{head},format=yuv420p,{hold},{cut(x)}[m{i}]"
    return (
        f"{head},split[r{i}][s{i}];"
        f"[r{i}]format=yuv420p,{hold},{cut(x)},select='not(mod({x},2))'[even{i}];"
        f"[s{i}]crop=iw-2:ih:1:0:exact=1,format=yuv420p,{hold},{cut(f'{x}-1')},select='mod({x},2)'[odd{i}];"
        f"[even{i}][odd{i}]interleave[m{i}]"
    )


def _zoompan(i: int, part: Part, zoom: float, width: int, height: int, fps: int) -> str:
    """A zoom (or a slow pan) by zoompan on a still upscaled once, so its whole-pixel crop steps are sub-pixel on screen."""
    big_w, big_h = int(width * UPSCALE) // 2 * 2, int(height * UPSCALE) // 2 * 2
    p = f"((on+{part.offset})/{max(part.clip_frames - 1, 1)})"
    z, x = f"{1 + zoom}", "(iw-iw/zoom)/2"
    if part.shot.motion == "zoom_in":
        z = f"1+{zoom}*{p}"
    elif part.shot.motion == "zoom_out":
        z = f"1+{zoom}*(1-{p})"
    else:
        x = f"(iw-iw/zoom)*{p}" if part.shot.motion == "pan_right" else f"(iw-iw/zoom)*(1-{p})"
    return (
        f"[{i}:v]scale={big_w}:{big_h}:flags=bicubic,format=yuv420p,"
        f"zoompan=z='{z}':x='{x}':y='(ih-ih/zoom)/2':d={part.frames}:s={width}x{height}:fps={fps}[m{i}]"
    )


def is_footage(path: Path) -> bool:
    """Whether a shot's picture is a video clip (finished by sources.finished_footage) rather than a still."""
    return path.suffix.lower() in FOOTAGE_SUFFIXES


def _footage(i: int, part: Part, width: int, height: int) -> str:
    """A clip's frames for this part: trimmed from the clip's own start, cropped to the frame, held if it runs short."""
    return (f"[{i}:v]trim=start_frame={part.offset}:end_frame={part.offset + part.frames},setpts=PTS-STARTPTS,"
            f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},"
            f"tpad=stop_mode=clone:stop={part.frames},trim=end_frame={part.frames},format=yuv420p[m{i}]")


def _crossfade(segment: Segment, fps: int, transition: str) -> str:
    """Graph from [p0] and [p1] to [x]: the shot, then its last `blend` frames blending into the next.

    Fades take the cheap filters: a dissolve is the next shot with a fading alpha overlaid (SIMD
    blending), a fade through a colour is a fade out and a fade in; xfade, which computes every
    pixel in floating point (17 ms a 1080p frame here), is left for the patterned transitions.
    """
    blend = segment.blend or segment.parts[1].frames
    own = segment.parts[0].frames - blend
    if transition in ("fadeblack", "fadewhite"):
        colour = transition.removeprefix("fade")
        half = blend // 2
        return (f"[p0]trim=end_frame={own + half},fade=t=out:start_frame={own}:nb_frames={half}:color={colour}[own];"
                f"[p1]trim=start_frame={half},setpts=PTS-STARTPTS,"
                f"fade=t=in:nb_frames={blend - half}:color={colour}[in];[own][in]concat=n=2:v=1:a=0[x]")
    if transition == "fade":
        mix = (f"[p1]format=yuva420p,fade=t=in:alpha=1:nb_frames={blend}[in];"
               f"[tail][in]overlay=format=yuv420:shortest=1,format=yuv420p[fade]")
    else:
        mix = f"[tail][p1]xfade=transition={transition}:duration={blend / fps:.6f}:offset=0[fade]"
    if own <= 0:
        return mix.replace("[tail]", "[p0]").replace("[fade]", "[x]")
    # The blend sees only the frames that blend: the rest of the shot goes round it.
    return (f"[p0]split[a][b];[a]trim=end_frame={own}[own];[b]trim=start_frame={own},setpts=PTS-STARTPTS[tail];"
            f"{mix};[own][fade]concat=n=2:v=1:a=0[x]")


def segment_graph(
    segment: Segment, fps: int, zoom: float, width: int, height: int, ass_name: str | None, fonts: bool = True,
    transition: str = "fade", footage: frozenset[int] = frozenset(),
) -> str:
    """The filter graph of one segment: motion on each still (or a clip's own), a crossfade if two, captions.

    `footage` holds the indexes of the parts whose input is a clip rather than a still.
    """
    parts = []
    for i, part in enumerate(segment.parts):
        sliding = part.shot.motion.startswith("pan") and pan_speed(zoom, width, part.clip_frames) > 0
        if i in footage:
            moving = _footage(i, part, width, height)
        else:
            moving = _pan(i, part, zoom, width, height) if sliding else _zoompan(i, part, zoom, width, height, fps)
        # Frame numbers as timestamps, so the trims, the crossfade and the encoder count alike.
        parts.append(f"{moving};[m{i}]setsar=1,settb=1/{fps},setpts=N,fps={fps}[p{i}]")
    last = "p0"
    if len(segment.parts) == 2:
        parts.append(_crossfade(segment, fps, transition))
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
            copy = event.copy()
            if copy.start < start_ms:  # begun in an earlier segment: its fade-in has happened there
                copy.text = re.sub(r"\\fad\(\d+,", r"\\fad(0,", copy.text)
            part.append(copy)
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
    threads = max(1, (os.cpu_count() or 2) // max(1, options.workers))
    args = segment_frames_args(segment, stills, captions, effects, options, folder) + [
        "-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf), "-profile:v", "high",
        "-x264-params", options.x264_params,
        "-pix_fmt", "yuv420p", "-r", str(options.fps), "-threads", str(threads), "-an", "segment.mp4",
    ]
    # ffmpeg resolves the graph's relative names (captions, fonts) against its working folder,
    # which spares us escaping arbitrary paths inside filter arguments.
    run_ffmpeg(args, what=f"video segment {segment.index + 1}", cwd=folder)
    return folder / "segment.mp4"


def segment_frames_args(
    segment: Segment,
    stills: dict[int, Path],
    captions: pysubs2.SSAFile,
    effects: Effects,
    options: RenderOptions,
    folder: Path,
) -> list[str]:
    """Write a segment's captions and graph into `folder`; the ffmpeg arguments, run there, that make its frames."""
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
        footage=frozenset(i for i, part in enumerate(segment.parts) if is_footage(stills[part.shot.index])),
    )
    (folder / "graph.txt").write_text(graph, encoding="utf-8")
    frames = segment.end_frame - segment.start_frame
    return args + ["-/filter_complex", "graph.txt", "-map", "[out]", "-frames:v", str(frames)]


def _quoted(path: Path) -> str:
    """A path as an ffconcat listing quotes it: in single quotes, a quote written as '\\''."""
    return "'" + str(path).replace("'", "'\\''") + "'"


def _expected_cost(segment: Segment) -> float:
    """Rough encoding cost of a segment: frames, a zoom's counting more than a pan's (measured ~1.5x)."""
    return sum(p.frames * (1.0 if p.shot.motion.startswith("pan") else 1.5) for p in segment.parts)


@dataclass(frozen=True)
class SegmentWork:
    """Everything one segment's render needs: what another worker is sent to render it (as JSON)."""

    segment: Segment
    stills: dict[int, Path]
    captions: str  # the segment's own captions, as ASS text timed from its start
    effects: Effects
    options: RenderOptions

    def key(self) -> str:
        """The cache key of the encoded segment."""
        return cache_key("render.segment", VERSION, {
            "frames": [self.segment.start_frame, self.segment.end_frame],
            "parts": [[p.shot.motion, p.clip_frames, p.offset, p.frames, self.stills[p.shot.index].parent.name]
                      for p in self.segment.parts],
            "captions": self.captions, "zoom": self.effects.zoom, "transition": self.effects.transition_style,
            "options": self.options.__dict__,
        })


class SegmentHelpers(Protocol):
    """Other workers that may render some of a video's segments into the shared cache meanwhile."""

    def offer(self, work: list[SegmentWork]) -> None:
        """Ask for these segments to be rendered (whoever claims one first renders it; nobody renders it twice)."""
        ...


def segment_work(segment: Segment, stills: dict[int, Path], captions: pysubs2.SSAFile, effects: Effects,
                 options: RenderOptions) -> SegmentWork:
    """A segment's render, with its own captions (already cut from the video's)."""
    return SegmentWork(segment, stills, captions.to_string("ass"), effects, options)


def cached_segment(work: SegmentWork, cache: Cache,
                   captions: pysubs2.SSAFile | None = None) -> tuple[RenderedSegment, bool]:
    """One segment from the cache, or rendered here, or waited for while another worker renders it.

    `captions` is the segment's caption file when this process has it; another worker reads it from the text.
    """
    def render(folder: Path) -> RenderedSegment:
        cut = captions if captions is not None else pysubs2.SSAFile.from_string(work.captions)
        return RenderedSegment(work.segment.index,
                               render_segment(work.segment, work.stills, cut, work.effects, work.options, folder))

    return cache.remember_shared(work.key(), RenderedSegment, render)


def _cached_segment(work: SegmentWork, captions: pysubs2.SSAFile, cache: Cache,
                    on_item: Callable[[bool], None]) -> RenderedSegment:
    result, cached = cached_segment(work, cache, captions)
    on_item(cached)
    return result


def _join(rendered: list[RenderedSegment], audio: Path, listing: Path, partial: Path, out: Path) -> None:
    """The segments and the soundtrack into one file by stream copy, appearing at `out` whole or not at all."""
    with translate_os_errors(str(out.parent)):
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file {_quoted(r.path)}\n" for r in rendered),
            encoding="utf-8",
        )
    run_ffmpeg(
        ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(audio),
         "-map", "0:v", "-map", "1:a", "-c", "copy", "-movflags", "+faststart", str(partial)],
        what=str(out),
    )
    with translate_os_errors(str(out)):
        os.replace(partial, out)


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
    helpers: SegmentHelpers | None = None,
) -> Path:
    """Render (or take from the cache) every segment, then join them with the audio into `out`.

    With `helpers` (workers on a queue), the segments are offered to them too: this worker renders
    the dearest first, they take what it has not claimed, and the cache holds whoever's came first.
    """
    with translate_os_errors(str(out.parent)):
        out.parent.mkdir(parents=True, exist_ok=True)
    listing = out.parent / f".{out.stem}.concat.txt"
    partial = out.with_name(f".{out.stem}.part.mp4")
    # The soundtrack is encoded beside the pictures rather than after them, and the dearest segments go
    # first, so neither core waits alone at the end.
    dearest_first = sorted(segments, key=_expected_cost, reverse=True)
    cuts = {s.index: _segment_subtitles(subs, s, options.fps) for s in dearest_first}
    work = [segment_work(s, stills, cuts[s.index], effects, options) for s in dearest_first]
    if helpers is not None and len(work) > 2 * max(1, options.workers):
        helpers.offer(work[::-1])  # the cheapest first: this worker starts from the dearest end
    try:
        with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
            audio_done = pool.submit(_soundtrack, mix_wav, cache)
            jobs = {w.segment.index: pool.submit(_cached_segment, w, cuts[w.segment.index], cache, on_item)
                    for w in work}
            try:
                rendered = [jobs[s.index].result() for s in segments]
                audio = audio_done.result()
            except BaseException:
                for job in jobs.values():  # one failure fails the render: don't encode the rest for nothing
                    job.cancel()
                raise
        _join(rendered, audio, listing, partial, out)
    finally:
        for scratch in (partial, listing):
            scratch.unlink(missing_ok=True)
    return out


def _soundtrack(mix_wav: Path, cache: Cache) -> Path:
    """The mix as AAC, once per mix."""
    key = cache_key("render.soundtrack", VERSION, {"sha256": file_digest(mix_wav)})

    def encode(folder: Path) -> Path:
        audio = folder / "soundtrack.m4a"
        run_ffmpeg(["-i", str(mix_wav), "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-y", str(audio)],
                   what="the soundtrack")
        return audio

    return cache.remember(key, Path, encode)[0]
