"""Render one 60 s 1080p30 timeline three ways and compare: ours, textbook moviepy, and a plain ffmpeg slideshow.

Run: python bench/render.py   (writes bench/results/render.json; about 10 minutes on 2 cores)
Each way runs in its own process, timed from outside, with the resident memory of its whole
process tree sampled every 100 ms. The same inputs serve all three: 12 stills, word captions in
the preset's style, and one mixed soundtrack. Ours also renders a 10-minute timeline, to show that
its memory stays flat with length.

Targets on the 2-core build machine: ours <= 1.5x the slideshow floor, >= 10x faster than moviepy,
peak memory <= 1 GB at 60 s and at 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import TreeMemory  # noqa: E402
from engine.media import probe, run_ffmpeg  # noqa: E402

PRESET = "military-history"
SHOT_SECONDS = 5.0
STILLS = 12
WORDS = ("the city held for nine hundred days while the winter closed every road and the lake froze "
         "so trucks crossed the ice at night with flour going in and children coming out").split()


def _timeline(seconds: float):  # noqa: ANN202 - engine Timeline
    from engine.models import MOTIONS, Shot, Timeline

    count = round(seconds / SHOT_SECONDS)
    shots = tuple(Shot(k, k, k * SHOT_SECONDS, (k + 1) * SHOT_SECONDS, f"shot {k}", MOTIONS[k % len(MOTIONS)], "calm")
                  for k in range(count))
    return Timeline(count * SHOT_SECONDS, tuple((s.start, s.end) for s in shots), shots)


def _words(seconds: float):  # noqa: ANN202 - engine Words
    from engine.models import Word

    # A narrator's pace, 2.5 words a second, with a breath after every 12th word.
    words, t, k = [], 0.2, 0
    while t + 0.4 < seconds:
        text = WORDS[k % len(WORDS)] + ("." if k % 12 == 11 else "")
        words.append(Word(text, round(t, 3), round(t + 0.32, 3), scene=int(t // SHOT_SECONDS)))
        t += 0.4 + (0.35 if k % 12 == 11 else 0.0)
        k += 1
    return tuple(words)


def prepare(work: Path, seconds: float) -> dict:
    """Stills, captions and the soundtrack every way renders from."""
    from engine.fonts import BOLD_FILE, bold_font_dir
    from engine.presets import load_preset
    from engine.stages import captions
    from engine.stages.images import SIZE, ProceduralPainter, finish_still

    preset = load_preset(PRESET, None)
    stills = []
    for k in range(STILLS):
        path = work / f"still-{k:02d}.png"
        if not path.is_file():
            ProceduralPainter().paint(f"a frozen city at night, view {k}", preset, SIZE, path)
            finish_still(path, preset.effects, seed=k)
        stills.append(path)
    words = _words(seconds)
    cues = captions.build_cues(words, captions.rules_for(preset.captions.style, preset.captions))
    subs = captions.subtitle_file(cues, preset.captions, 1920, 1080, preset.captions.style)
    mix = work / f"mix-{seconds:.0f}.wav"
    if not mix.is_file():  # narration-like noise over a chord: what matters here is its length and format
        run_ffmpeg(["-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:a=0.1:r=48000",
                    "-f", "lavfi", "-i", f"sine=f=220:d={seconds}:r=48000", "-filter_complex", "amix=inputs=2",
                    "-ac", "2", str(mix)], what="bench soundtrack")
    return {"preset": preset, "stills": stills, "cues": cues, "subs": subs, "mix": mix,
            "font": bold_font_dir(work / "data") / BOLD_FILE, "fonts": bold_font_dir(work / "data")}


def render_ours(work: Path, seconds: float, out: Path) -> None:
    """The pipeline's renderer on a cold cache."""
    from engine.cache import Cache
    from engine.stages import render

    inputs = prepare(work, seconds)
    plan = _timeline(seconds)
    options = render.RenderOptions(fonts=inputs["fonts"])
    segments = render.plan_segments(plan, options.fps, inputs["preset"].effects.transition)
    stills = {shot.index: inputs["stills"][shot.index % STILLS] for shot in plan.shots}
    cache = Cache(work / f"cache-{out.stem}")
    render.render_master(segments, stills, inputs["subs"], inputs["mix"], inputs["preset"].effects, options, cache, out)


def render_moviepy(work: Path, seconds: float, out: Path) -> None:
    """The textbook moviepy way: a resized ImageClip per still, a TextClip per caption, one composite."""
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, TextClip

    inputs = prepare(work, seconds)
    zoom = inputs["preset"].effects.zoom
    layers = []
    for shot in _timeline(seconds).shots:
        length = shot.end - shot.start
        layers.append(ImageClip(str(inputs["stills"][shot.index % STILLS])).with_start(shot.start)
                      .with_duration(length).resized(lambda t, length=length: 1 + zoom * t / length)
                      .with_position("center"))
    for cue in inputs["cues"]:
        layers.append(TextClip(font=str(inputs["font"]), text="\n".join(cue.lines), font_size=64, color="white",
                               stroke_color="black", stroke_width=4, method="label", text_align="center")
                      .with_start(cue.start).with_duration(cue.end - cue.start).with_position(("center", 760)))
    video = CompositeVideoClip(layers, size=(1920, 1080)).with_duration(seconds).with_audio(AudioFileClip(str(inputs["mix"])))
    video.write_videofile(str(out), fps=30, codec="libx264", preset="superfast", audio_codec="aac", threads=2,
                          ffmpeg_params=["-crf", "23", "-x264-params", "bframes=0:rc-lookahead=0", "-pix_fmt", "yuv420p"],
                          temp_audiofile_path=str(work), logger=None)


def render_floor(work: Path, seconds: float, out: Path) -> None:
    """What the encoder alone costs: the stills as a plain slideshow, no motion, no captions, same settings.

    Each still is converted to YUV once and its frames repeated after that, so the figure is the
    encoder's, not a colour conversion's.
    """
    inputs = prepare(work, seconds)
    listing = work / "slideshow.txt"
    lines = ["ffconcat version 1.0"]
    for shot in _timeline(seconds).shots:
        lines += [f"file '{inputs['stills'][shot.index % STILLS]}'", f"duration {shot.end - shot.start}"]
    listing.write_text("\n".join(lines + [lines[-2]]) + "\n")
    run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(inputs["mix"]),
                "-vf", "format=yuv420p,fps=30", "-t", str(seconds), "-c:v", "libx264", "-preset", "superfast",
                "-crf", "23", "-profile:v", "high", "-x264-params", "bframes=0:rc-lookahead=0",
                "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-movflags", "+faststart", str(out)], what="slideshow")


WAYS = {"ours": render_ours, "moviepy": render_moviepy, "floor": render_floor}


def where_time_goes(work: Path) -> dict[str, float]:
    """One 5 s shot of ours, built up filter by filter: what motion, captions and encoding each add."""
    from engine.stages import render

    inputs = prepare(work, 60)
    plan = _timeline(60)
    whole = render.plan_segments(plan, 30, inputs["preset"].effects.transition)[2]  # a shot mid-video
    segment = replace(whole, parts=whole.parts[:1], blend=0, end_frame=whole.end_frame - whole.blend)  # no crossfade
    folder = work / "breakdown"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    captions = render._segment_subtitles(inputs["subs"], segment, 30)
    (folder / "captions.ass").write_text(captions.to_string("ass"), encoding="utf-8")
    (folder / "fonts").symlink_to(inputs["fonts"].resolve(), target_is_directory=True)
    frames = segment.end_frame - segment.start_frame
    still = str(inputs["stills"][segment.parts[0].shot.index % STILLS])
    full = render.segment_graph(segment, 30, inputs["preset"].effects.zoom, 1920, 1080, "captions.ass")
    no_captions = render.segment_graph(segment, 30, inputs["preset"].effects.zoom, 1920, 1080, None)
    encode = ["-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-profile:v", "high",
              "-x264-params", "bframes=0:rc-lookahead=0", "-threads", "1", "-y", "x.mp4"]
    null = ["-f", "null", "-"]
    steps = {
        "decode_and_upscale": (["-i", still, "-vf", "scale=2880:1620:flags=bicubic,format=yuv420p", "-frames:v", "1"], null),
        "plus_motion": (["-i", still, "-filter_complex", no_captions, "-map", "[out]", "-frames:v", str(frames)], null),
        "plus_captions": (["-i", still, "-filter_complex", full, "-map", "[out]", "-frames:v", str(frames)], null),
        "plus_encode": (["-i", still, "-filter_complex", full, "-map", "[out]", "-frames:v", str(frames)], encode),
        # The floor's way: the still converted once, its frames repeated, only the encoder working.
        "encode_still_only": (["-i", still, "-vf", f"format=yuv420p,loop=loop={frames - 1}:size=1",
                               "-frames:v", str(frames)], encode),
    }
    seconds: dict[str, float] = {}
    for name, (head, tail) in steps.items():
        began = time.perf_counter()
        run_ffmpeg(["-threads", "1", *head, *tail], what=name, cwd=folder)
        seconds[name] = round(time.perf_counter() - began, 3)
    return {
        "frames": frames,
        "cumulative_seconds_one_thread": seconds,
        "share": {
            "decode_and_upscale": seconds["decode_and_upscale"],
            "motion": round(seconds["plus_motion"] - seconds["decode_and_upscale"], 3),
            "captions": round(seconds["plus_captions"] - seconds["plus_motion"], 3),
            "encode": round(seconds["plus_encode"] - seconds["plus_captions"], 3),
        },
    }


def measure(way: str, work: Path, seconds: float) -> dict:
    """Run one way in its own process; its wall time, peak tree memory and what it wrote."""
    out = work / f"{way}-{seconds:.0f}.mp4"
    out.unlink(missing_ok=True)
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--way", way, "--seconds", str(seconds), "--work", str(work),
                              "--out", str(out)])
    with TreeMemory(root=child.pid) as memory:
        code = child.wait()
    wall = time.perf_counter() - began
    if code:
        raise SystemExit(f"{way} failed with exit code {code}")
    info = probe(out)
    inside = json.loads(out.with_suffix(".json").read_text())["render_seconds"]
    return {"seconds": round(inside, 2), "seconds_with_process_start": round(wall, 2), "peak_memory_mb": round(memory.peak_mb), "video_seconds": round(info.duration, 2),
            "size": f"{info.width}x{info.height}", "fps": info.fps, "codec": info.video_codec,
            "audio": info.audio_codec, "megabytes": round(out.stat().st_size / 1e6, 1)}


def main() -> None:
    """Prepare once, render each way, and write the figures and ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--way", choices=WAYS)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--skip-moviepy", action="store_true", help="reuse the last moviepy figure (it takes minutes)")
    args = parser.parse_args()
    if args.way:  # a child: render one way, and say how long the rendering itself took
        prepare(args.work, args.seconds)
        began = time.perf_counter()
        WAYS[args.way](args.work, args.seconds, args.out)
        args.out.with_suffix(".json").write_text(json.dumps({"render_seconds": time.perf_counter() - began}))
        return
    work = Path(tempfile.mkdtemp(prefix="vf-render-"))
    prepare(work, 60)  # stills, font and soundtrack made before any clock starts
    prepare(work, 600)
    result_file = ROOT / "bench" / "results" / "render.json"
    previous = json.loads(result_file.read_text()) if result_file.is_file() else {}
    breakdown = where_time_goes(work)  # first: seconds, and a mistake here should not cost the long runs
    runs = {"floor": measure("floor", work, 60), "ours": measure("ours", work, 60)}
    runs["moviepy"] = previous["runs"]["moviepy"] if args.skip_moviepy else measure("moviepy", work, 60)
    runs["ours_10_minutes"] = measure("ours", work, 600)
    runs["floor_10_minutes"] = measure("floor", work, 600)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "timeline": f"{STILLS} stills, {SHOT_SECONDS:g} s shots with camera motion, {PRESET} captions, 1920x1080 at 30 fps",
        "runs": runs,
        "ratios": {
            "ours_to_floor": round(runs["ours"]["seconds"] / runs["floor"]["seconds"], 2),
            "moviepy_to_ours": round(runs["moviepy"]["seconds"] / runs["ours"]["seconds"], 1),
            "ours_to_floor_10_minutes": round(runs["ours_10_minutes"]["seconds"] / runs["floor_10_minutes"]["seconds"], 2),
            "ours_to_realtime": round(runs["ours"]["seconds"] / 60, 3),
        },
        "where_time_goes_one_shot": breakdown,
        "targets": {"ours_to_floor": 1.5, "moviepy_to_ours": 10, "peak_memory_mb": 1024},
    }
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
