"""Timeline stage: scene and shot times from where the words are spoken, never a fixed duration."""

from __future__ import annotations

import math

from engine.models import MOTIONS, Script, Shot, Timeline, Word, Words

VERSION = 1
CUT_LEAD = 0.12  # a cut lands this long before the first word it introduces, inside the pause


def _cut_before(previous: Word, following: Word) -> float:
    """A cut time in the pause between two words, just before the second starts."""
    return max(previous.end, following.start - CUT_LEAD) if following.start > previous.end else following.start


def _shot_cuts(words: list[Word], start: float, end: float, count: int) -> list[float]:
    """Cut points that split a scene into `count` shots, at sentence or clause ends where possible."""
    cuts: list[float] = []
    for k in range(1, count):
        target = start + (end - start) * k / count
        best, best_cost = None, math.inf
        for i in range(1, len(words)):
            cut = _cut_before(words[i - 1], words[i])
            if cut <= (cuts[-1] if cuts else start) + 1.5 or cut >= end - 1.5:
                continue
            ending = words[i - 1].text.rstrip("\"'”»)")
            # Sentence ends are preferred over clause ends, clause ends over any word gap.
            penalty = 0.0 if ending.endswith((".", "!", "?", "…")) else 1.5 if ending.endswith((",", ";", ":", "—")) else 3.0
            cost = abs(cut - target) + penalty
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
