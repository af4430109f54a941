from engine.models import Shot, Timeline
from engine.stages.render import plan_segments, segment_graph


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
    assert graph.count("zoompan=") == 2 and "xfade=transition=fade" in graph
    own = fade.parts[0].frames - fade.blend  # only the last frames pass through xfade
    assert f"trim=end_frame={own}" in graph and f"trim=start_frame={own}" in graph and "concat=n=2" in graph
    assert "ass=filename=captions.ass:fontsdir=fonts" in graph
    assert "ass=" not in segment_graph(segments[0], 30, 0.1, 1920, 1080, None)
