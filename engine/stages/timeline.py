"""Timeline stage: scene and shot times from where the words are spoken, never a fixed duration."""

from __future__ import annotations

import math

from engine.models import MOTIONS, ChapterMark, Script, Shot, Timeline, Word, Words

VERSION = 1
CUT_LEAD = 0.12  # a cut lands this long before the first word it introduces, inside the pause
MIN_SHOT = 1.5  # seconds a still stays on screen at least
SENTENCE_END = (".", "!", "?", "…")
CLAUSE_END = (",", ";", ":", "—", "–")


def _cut_before(previous: Word, following: Word) -> float:
    """A cut time in the pause between two words, just before the second starts."""
    return max(previous.end, following.start - CUT_LEAD) if following.start > previous.end else following.start


def _shot_cuts(words: list[Word], start: float, end: float, count: int) -> list[float]:
    """Cut points that split a scene into `count` shots with equal shares of what is said in it.

    A scene's speech (its words' own durations, pauses left out) is shared equally between its
    shots; each cut goes into the gap between two words, preferably at a sentence end, else a
    clause end, and a long pause draws it in, so a silence on screen is never cut in two halves.
    """
    spoken = [0.0]
    for word in words:
        spoken.append(spoken[-1] + (word.end - word.start))
    total = spoken[-1] or 1.0
    share = total / count
    cuts: list[float] = []
    for k in range(1, count):
        target = total * k / count
        best, best_cost = None, math.inf
        for i in range(1, len(words)):
            cut = _cut_before(words[i - 1], words[i])
            if cut <= (cuts[-1] if cuts else start) + MIN_SHOT or cut >= end - MIN_SHOT:
                continue
            ending = words[i - 1].text.rstrip("\"'”»)")
            # Measured in shares: missing the fair split by a quarter share buys a clause end instead of a sentence end.
            penalty = share * (0.0 if ending.endswith(SENTENCE_END) else 0.25 if ending.endswith(CLAUSE_END) else 0.6)
            pause = max(0.0, words[i].start - words[i - 1].end)
            cost = abs(spoken[i] - target) + penalty - min(pause, 1.5)
            if cost < best_cost:
                best, best_cost = cut, cost
        if best is not None:
            cuts.append(best)
    return cuts


def build_timeline(script: Script, words: Words, duration: float, max_shot_seconds: float) -> Timeline:
    """Scene spans from the words' times; scenes longer than `max_shot_seconds` get several shots."""
    by_scene: dict[int, list[Word]] = {}
    for word in words.words:
        by_scene.setdefault(word.scene, []).append(word)
    scenes = [scene for scene in script.scenes if by_scene.get(scene.index)]
    starts = [0.0]
    for previous, current in zip(scenes, scenes[1:]):
        starts.append(_cut_before(by_scene[previous.index][-1], by_scene[current.index][0]))
    ends = starts[1:] + [duration]
    spans = tuple(zip(starts, ends))

    shots: list[Shot] = []
    for scene, (start, end) in zip(scenes, spans):
        count = max(1, math.ceil((end - start) / max_shot_seconds))
        cuts = [start, *_shot_cuts(by_scene[scene.index], start, end, count), end]
        for k, (shot_start, shot_end) in enumerate(zip(cuts, cuts[1:])):
            prompt = scene.image_prompt if k == 0 else f"{scene.image_prompt} (view {k + 1})"
            shots.append(
                Shot(
                    index=len(shots), scene=scene.index, start=shot_start, end=shot_end,
                    prompt=prompt, motion=MOTIONS[len(shots) % len(MOTIONS)], mood=scene.mood,
                )
            )
    return Timeline(duration=duration, scene_spans=spans, shots=tuple(shots))


def chapter_marks(script: Script, plan: Timeline) -> tuple[ChapterMark, ...]:
    """Each chapter's start and end in the video; none for a script without chapters."""
    if not script.chapters:
        return ()
    spans = dict(zip([scene.index for scene in script.scenes], plan.scene_spans))
    firsts: dict[int, int] = {}
    for scene in script.scenes:
        if scene.index in spans:
            firsts.setdefault(scene.chapter, scene.index)
    numbers = sorted(firsts)
    starts = [0.0 if k == 0 else spans[firsts[n]][0] for k, n in enumerate(numbers)]
    ends = [*starts[1:], plan.duration]
    return tuple(ChapterMark(n, script.chapters[n], start, end, firsts[n]) for n, start, end in zip(numbers, starts, ends))
