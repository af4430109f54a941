"""Render one 60 s 1080p30 timeline three ways and compare: ours, textbook moviepy, and a plain ffmpeg slideshow.

Run: python bench/render.py   (writes bench/results/render.json; about 15 minutes on 2 cores)
Each way runs in its own process, timed from outside, with the resident memory of its whole
process tree sampled every 100 ms. The same inputs serve all three: 12 stills, word captions in
the preset's style, and one mixed soundtrack. The floor and ours run three times in turn (medians);
ours also renders a 10-minute timeline, to show that its memory stays flat with length. Then x264
alone is timed on both videos' frames, made raw (ours by our own segment graphs), to show how much
of the distance to the floor is the encoder's own.

Targets on the 2-core build machine: ours <= 1.5x the slideshow floor, >= 10x faster than moviepy,
peak memory <= 1 GB at 60 s and at 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
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
    cache = Cache(Path(tempfile.mkdtemp(prefix="cold-cache-", dir=work)))  # every run renders every segment
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


ENCODE = ["-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-profile:v", "high",
          "-x264-params", "bframes=0:rc-lookahead=0"]


def _seconds(args: list[str], cwd: Path, repeats: int = 3) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of an ffmpeg command.

    Medians, because this machine's timings wander by 10-20% from run to run; CPU time, because
    ffmpeg runs its filters and its encoder in threads of their own, so wall time hides one in
    the other.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        before, began = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        run_ffmpeg(args, what="benchmark step", cwd=cwd)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(time.perf_counter() - began)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return round(statistics.median(walls), 3), round(statistics.median(cpus), 3)


def where_time_goes(work: Path) -> dict:
    """A pan shot and a zoom shot of ours, built up filter by filter on one thread, and their crossfade."""
    from engine.stages import render

    inputs = prepare(work, 60)
    effects = inputs["preset"].effects
    segments = render.plan_segments(_timeline(60), 30, effects.transition)
    folder = work / "breakdown"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "fonts").symlink_to(inputs["fonts"].resolve(), target_is_directory=True)
    one_thread = ["-threads", "1", "-filter_threads", "1"]
    null = ["-f", "null", "-"]
    encode = [*ENCODE, "-threads", "1", "-r", "30", "-y", "x.mp4"]
    shots = {}
    for whole in segments[1:3]:  # a pan_right, then a zoom_out, both mid-video
        alone = replace(whole, parts=whole.parts[:1], blend=0)  # the shot without its crossfade
        frames = alone.end_frame - alone.start_frame
        captions = render._segment_subtitles(inputs["subs"], alone, 30)
        (folder / "captions.ass").write_text(captions.to_string("ass"), encoding="utf-8")
        still = ["-i", str(inputs["stills"][whole.parts[0].shot.index % STILLS])]
        both = [*still, "-i", str(inputs["stills"][whole.parts[1].shot.index % STILLS])]

        def graph(segment, ass: str | None) -> list[str]:  # noqa: ANN001 - a render.Segment
            text = render.segment_graph(segment, 30, effects.zoom, 1920, 1080, ass, transition=effects.transition_style)
            return ["-filter_complex", text, "-map", "[out]", "-frames:v", str(frames)]

        motion = alone.parts[0].shot.motion
        first_frame = replace(alone, end_frame=alone.start_frame + 1, parts=(replace(alone.parts[0], frames=1),))
        steps = {
            "decode_and_scale": [*one_thread, *still, *graph(first_frame, None)[:-2], "-frames:v", "1", *null],
            "plus_motion": [*one_thread, *still, *graph(alone, None), *null],
            "plus_captions": [*one_thread, *still, *graph(alone, "captions.ass"), *null],
            "plus_encode": [*one_thread, *still, *graph(alone, "captions.ass"), *encode],
            "crossfade_filters": [*one_thread, *both, *graph(whole, None), *null],
            # The floor's way: the still converted once, its frames repeated, only the encoder working.
            "encode_still_only": [*one_thread, *still, "-vf", f"format=yuv420p,loop=loop={frames - 1}:size=1",
                                  "-frames:v", str(frames), *encode],
        }
        seconds = {name: _seconds(args, folder)[1] for name, args in steps.items()}
        shots[motion] = {
            "frames": frames,
            "cumulative_cpu_seconds_one_thread": {k: v for k, v in seconds.items() if k != "crossfade_filters"},
            "share": {
                "decode_and_scale": seconds["decode_and_scale"],
                "motion": round(seconds["plus_motion"] - seconds["decode_and_scale"], 3),
                "captions": round(seconds["plus_captions"] - seconds["plus_motion"], 3),
                "encode": round(seconds["plus_encode"] - seconds["plus_captions"], 3),
                "crossfade_filters": round(seconds["crossfade_filters"] - seconds["plus_motion"], 3),
            },
        }
    return shots


def _raw_frames(work: Path, way: str) -> Path:
    """The 60 s video's frames in raw YUV, exactly as they reach x264: the floor's from its stills, ours from our graphs.

    They are made, not decoded from the finished videos: decoded frames carry the first encoding's
    noise, which changes from frame to frame and would make the second encoding dearer than the first.
    """
    from engine.stages import render

    inputs, plan = prepare(work, 60), _timeline(60)
    options, effects = render.RenderOptions(fonts=inputs["fonts"]), inputs["preset"].effects
    stills = {shot.index: inputs["stills"][shot.index % STILLS] for shot in plan.shots}

    def still(shot, folder: Path) -> list[str]:  # noqa: ANN001 - an engine Shot
        frames = round((shot.end - shot.start) * options.fps)
        return ["-i", str(stills[shot.index]), "-vf", f"format=yuv420p,loop=loop={frames - 1}:size=1",
                "-frames:v", str(frames)]

    def segment(part, folder: Path) -> list[str]:  # noqa: ANN001 - a render Segment
        captions = render._segment_subtitles(inputs["subs"], part, options.fps)
        return render.segment_frames_args(part, stills, captions, effects, options, folder)

    pieces = ([(still, shot) for shot in plan.shots] if way == "floor"
              else [(segment, part) for part in render.plan_segments(plan, options.fps, effects.transition)])
    raw, folder = work / f"{way}.yuv", work / "frames"
    with raw.open("wb") as sink:
        for command, piece in pieces:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            run_ffmpeg([*command(piece, folder), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-y", "frames.yuv"],
                       what=f"{way} frames", cwd=folder)
            with (folder / "frames.yuv").open("rb") as frames:
                shutil.copyfileobj(frames, sink, 1 << 24)
    shutil.rmtree(folder, ignore_errors=True)
    return raw


def encoder_alone(work: Path) -> dict[str, float]:
    """x264 alone, with the floor's settings and threads, on the floor's frames and on ours.

    Both 60 s videos' frames are written raw to disk first, and only their encoding is timed: the
    pictures our renderer makes (moving, captioned, cross-faded) against the floor's still ones.
    The ratio is how far from the floor the encoder alone is on the frames we have to make.
    """
    result = {}
    for way in ("floor", "ours"):
        raw = _raw_frames(work, way)
        source = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "1920x1080", "-r", "30", "-i", str(raw)]
        wall, cpu = _seconds([*source, *ENCODE, "-an", "-y", str(work / "reencoded.mp4")], work)
        result[f"{way}_frames_seconds"], result[f"{way}_frames_cpu_seconds"] = wall, cpu
        result[f"{way}_frames_megabytes"] = round((work / "reencoded.mp4").stat().st_size / 1e6, 1)
        raw.unlink()
    result["ratio"] = round(result["ours_frames_seconds"] / result["floor_frames_seconds"], 2)
    result["cpu_ratio"] = round(result["ours_frames_cpu_seconds"] / result["floor_frames_cpu_seconds"], 2)
    return result


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
    return {"seconds": round(inside, 2), "seconds_with_process_start": round(wall, 2),
            "peak_memory_mb": round(memory.peak_mb), "video_seconds": round(info.duration, 2),
            "size": f"{info.width}x{info.height}", "fps": info.fps, "codec": info.video_codec,
            "audio": info.audio_codec, "megabytes": round(out.stat().st_size / 1e6, 1)}


def median_of(runs: list[dict]) -> dict:
    """The run with the median time, with every run's time beside it."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return {**ordered[len(ordered) // 2], "every_run_seconds": [r["seconds"] for r in runs]}


def main() -> None:
    """Prepare once, render each way, and write the figures and ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--way", choices=WAYS)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the floor and ours at 60 s, taken in turn")
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
    floors, ours = [], []
    for _ in range(max(1, args.repeats)):  # in turn, so a slow spell of the machine hits both
        floors.append(measure("floor", work, 60))
        ours.append(measure("ours", work, 60))
    runs = {"floor": median_of(floors), "ours": median_of(ours)}
    encoder = encoder_alone(work)
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
            "encoder_alone_our_frames_to_floor_frames": encoder["ratio"],
            "ours_to_encoder_alone_on_our_frames": round(runs["ours"]["seconds"] / encoder["ours_frames_seconds"], 2),
        },
        "encoder_alone": encoder,
        "where_time_goes_one_shot_cpu_seconds": breakdown,
        "targets": {"ours_to_floor": 1.5, "moviepy_to_ours": 10, "peak_memory_mb": 1024},
    }
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
