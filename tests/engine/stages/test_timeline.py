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


def _scene_script(text: str) -> Script:
    return Script("t", "t", "en", (Scene(0, text, "p", "calm"),), "own-text")


def test_cuts_fall_between_words_and_share_what_is_said():
    text = "The city slept. Nobody heard the trucks, nobody saw the lights. At dawn the roads were empty and silent."
    words = _words(0, 0.3, text.split(), step=0.45)
    timeline = build_timeline(_scene_script(text), Words(tuple(words), "t"), words[-1].end + 0.5, max_shot_seconds=3.5)
    shots = timeline.shots
    assert len(shots) == 3
    for shot in shots[1:]:
        before = max((w for w in words if w.end <= shot.start + 1e-9), key=lambda w: w.end)
        after = min((w for w in words if w.start >= shot.start - 1e-9), key=lambda w: w.start)
        assert before.end <= shot.start <= after.start  # never inside a word
        assert before.text.endswith((".", ","))  # at a sentence or clause end
    counts = [sum(1 for w in words if shot.start <= w.start < shot.end) for shot in shots]
    assert max(counts) - min(counts) <= 4  # each still carries a fair share of the words


def test_a_long_pause_draws_the_cut_and_stays_whole_on_one_side():
    first = _words(0, 0.2, "We waited for news from the front and".split(), step=0.4)
    second = _words(0, first[-1].end + 2.0, "then the letter came at last and".split(), step=0.4)
    words = first + second
    text = " ".join(w.text for w in words)
    timeline = build_timeline(_scene_script(text), Words(tuple(words), "t"), words[-1].end + 0.5, max_shot_seconds=4.0)
    cut = timeline.shots[1].start
    assert first[-1].end < cut <= second[0].start
    assert second[0].start - cut <= 0.12 + 1e-9  # the silence stays with the first image
