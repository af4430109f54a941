from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.media import run_ffmpeg
from engine.models import Shot, Timeline
from engine.stages.render import Part, Segment, pan_speed, plan_segments, segment_graph


def _timeline() -> Timeline:
    bounds = [0.0, 4.0, 9.5, 10.4, 16.0]
    shots = tuple(Shot(i, i, a, b, f"p{i}", "zoom_in", "calm") for i, (a, b) in enumerate(zip(bounds, bounds[1:])))
    return Timeline(16.0, (), shots)


def test_segments_tile_the_video_frame_exactly():
    segments = plan_segments(_timeline(), 30, transition=0.6)
    assert segments[0].start_frame == 0 and segments[-1].end_frame == 480
    assert all(a.end_frame == b.start_frame for a, b in zip(segments, segments[1:]))
    assert all(sum(p.frames for p in s.parts[:1]) == s.end_frame - s.start_frame for s in segments)


def test_crossfades_blend_two_clips_whose_motion_continues():
    segments = plan_segments(_timeline(), 30, transition=0.6)
    assert len(segments) == 4  # one per shot: a process per crossfade would cost more than the blend
    fades = [s for s in segments if len(s.parts) == 2]
    assert len(fades) == 3 and all(s.blend == s.parts[1].frames for s in fades)
    short = next(s for s in fades if s.parts[0].shot.index == 1)
    assert short.blend <= (10.4 - 9.5) * 30 / 3 * 2  # shortened for the short shot that follows
    assert segments[-1].blend == 0 and len(segments[-1].parts) == 1
    for index, shot in enumerate(_timeline().shots):
        pieces = sorted((p.offset, p.frames, p.clip_frames) for s in segments for p in s.parts if p.shot.index == index)
        # The shot's pieces follow each other through its clip without a gap or a repeat.
        assert pieces[0][0] == 0
        assert all(a[0] + a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
        assert pieces[-1][0] + pieces[-1][1] == pieces[-1][2]


def test_graph_uses_ffmpeg_filters_and_captions_only_when_present():
    segments = plan_segments(_timeline(), 30, transition=0.6)
    fade = next(s for s in segments if len(s.parts) == 2)
    graph = segment_graph(fade, 30, 0.1, 1920, 1080, "captions.ass")
    assert graph.count("zoompan=") == 2 and "overlay=" in graph
    own = fade.parts[0].frames - fade.blend  # only the last frames pass through xfade
    assert f"trim=end_frame={own}" in graph and f"trim=start_frame={own}" in graph and "concat=n=2" in graph
    assert "ass=filename=captions.ass:fontsdir=fonts" in graph
    assert "ass=" not in segment_graph(segments[0], 30, 0.1, 1920, 1080, None)


def _frames(tmp_path: Path, graph: str, stills: list[Path], count: int, size: tuple[int, int]) -> np.ndarray:
    """Run a segment graph through ffmpeg and return its raw 4:2:0 frames, uncompressed."""
    (tmp_path / "graph.txt").write_text(graph)
    raw = tmp_path / "frames.yuv"
    inputs = [arg for still in stills for arg in ("-i", str(still))]
    run_ffmpeg([*inputs, "-/filter_complex", "graph.txt", "-map", "[out]", "-frames:v", str(count), "-r", "30",
                "-f", "rawvideo", "-pix_fmt", "yuv420p", "-y", str(raw)], what="graph", cwd=tmp_path)
    width, height = size
    return np.fromfile(raw, np.uint8).reshape(-1, width * height * 3 // 2)


def _texture(path: Path, seed: int, size: tuple[int, int] = (320, 180)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("motion", ["pan_right", "pan_left"])
def test_pans_move_a_whole_pixel_each_frame_without_resampling(tmp_path: Path, motion: str):
    width, height, count = 320, 180, 12
    shot = Shot(0, 0, 0.0, 1.0, "p", motion, "calm")
    segment = Segment(0, 0, count, (Part(shot, clip_frames=30, offset=5, frames=count),))
    speed = pan_speed(0.1, width, 30)
    assert speed == 1
    frames = _frames(tmp_path, segment_graph(segment, 30, 0.1, width, height, None), [_texture(tmp_path / "a.png", 1)],
                     count, (width, height))
    assert len(frames) == count
    luma = frames[:, : width * height].reshape(count, height, width).astype(int)
    chroma = frames[:, width * height: width * height * 5 // 4].reshape(count, height // 2, width // 2).astype(int)
    shift = speed if motion == "pan_right" else -speed
    for k in range(count - 1):
        before, after = luma[k], luma[k + 1]
        if shift > 0:  # the picture moves left by exactly `shift` columns, nothing else changes
            assert np.array_equal(after[:, :-shift], before[:, shift:])
        else:
            assert np.array_equal(after[:, -shift:], before[:, :shift])
        assert not np.array_equal(after, before)
    for k in range(count - 2):  # colour, subsampled by two, repeats its phase every other frame
        before, after = chroma[k], chroma[k + 2]
        assert np.array_equal(after[:, :-1], before[:, 1:]) if shift > 0 else np.array_equal(after[:, 1:], before[:, :-1])


@pytest.mark.parametrize("transition", ["fade", "fadeblack", "wipeleft"])
def test_transitions_go_from_one_shot_to_the_next(tmp_path: Path, transition: str):
    width, height = 320, 180
    dark, light = tmp_path / "dark.png", tmp_path / "light.png"
    Image.new("RGB", (width, height), (60, 60, 60)).save(dark)
    Image.new("RGB", (width, height), (200, 200, 200)).save(light)
    first, second = (Shot(i, i, i * 1.0, (i + 1) * 1.0, "p", "zoom_in", "calm") for i in range(2))
    segment = Segment(0, 0, 30, (Part(first, 36, 0, 30), Part(second, 36, 0, 12)), blend=12)
    frames = _frames(tmp_path, segment_graph(segment, 30, 0.1, width, height, None, transition=transition),
                     [dark, light], 30, (width, height))
    means = frames[:, : width * height].mean(axis=1)
    assert len(frames) == 30
    assert np.allclose(means[:18], means[0], atol=1)  # the first shot alone until the blend
    assert means[18] < means[0] + 10 and means[-1] > means[0] + 80  # then it turns into the second
    if transition == "fadeblack":
        assert means[18:].min() < 20  # through black
    else:
        assert np.all(np.diff(means[18:]) > -1) and means[18:].min() > means[0] - 2


def test_a_pan_slower_than_half_a_pixel_a_frame_is_resampled_rather_than_cropped_wider():
    assert pan_speed(0.12, 1920, 168) == 1 and pan_speed(0.3, 1920, 168) == 3
    shot = Shot(0, 0, 0.0, 30.0, "p", "pan_left", "calm")
    slow = Segment(0, 0, 900, (Part(shot, clip_frames=900, offset=0, frames=900),))
    assert pan_speed(0.12, 1080, 900) == 0
    graph = segment_graph(slow, 30, 0.12, 1080, 1920, None)
    assert "zoompan=" in graph and "crop=" not in graph
    assert "zoompan=" not in segment_graph(replace(slow, parts=(Part(shot, 168, 0, 168),)), 30, 0.12, 1920, 1080, None)
