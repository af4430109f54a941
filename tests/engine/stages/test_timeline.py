from engine.models import Scene, Script, Word, Words
from engine.stages.timeline import build_timeline


def _words(scene: int, start: float, texts: list[str], step: float = 0.4) -> list[Word]:
    return [Word(t, start + i * step, start + i * step + 0.3, 1.0, scene) for i, t in enumerate(texts)]


def test_scene_spans_follow_the_words_and_long_scenes_get_several_shots():
    long_texts = ("One two three four five six seven. " * 4).split()  # 28 words, ~11 s
    words = _words(0, 0.5, ["Short", "opening", "line."]) + _words(1, 2.5, long_texts)
    script = Script("t", "t", "en", (Scene(0, "Short opening line.", "p0", "calm"), Scene(1, " ".join(long_texts), "p1", "tense")), "own-text")
    timeline = build_timeline(script, Words(tuple(words), "test"), 14.0, max_shot_seconds=8.0)
    (s0, e0), (s1, e1) = timeline.scene_spans
    assert s0 == 0.0 and e1 == 14.0
    assert words[2].end <= e0 <= words[3].start  # the cut sits in the pause before scene 2 speaks
    scene1_shots = [shot for shot in timeline.shots if shot.scene == 1]
    assert len(scene1_shots) == 2
    cut = scene1_shots[1].start
    ending = max((w for w in words if w.end <= cut), key=lambda w: w.end)
    assert ending.text.endswith(".")  # the extra image arrives at a sentence end
    assert all(a.end == b.start for a, b in zip(timeline.shots, timeline.shots[1:]))
    assert len({shot.motion for shot in timeline.shots}) == len(timeline.shots)  # every still moves differently from its neighbour
