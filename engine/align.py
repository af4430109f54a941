"""Aligning a heard sequence to a written one, with interpolation for what was not matched."""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

Span = tuple[float, float]


def match_indices(written: Sequence[str], heard: Sequence[str]) -> dict[int, list[int]]:
    """For each written item, the heard items equal to it in the longest common alignment."""
    matcher = SequenceMatcher(None, list(written), list(heard), autojunk=False)
    matched: dict[int, list[int]] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            matched.setdefault(block.a + offset, []).append(block.b + offset)
    return matched


def fill_gaps(
    spans: Sequence[Span | None], weights: Sequence[float], start: float, end: float
) -> list[Span]:
    """Give every item without a span a share of the time between its matched neighbours.

    Shares follow `weights` (e.g. letters per word), so an unmatched run is spread over
    the gap it sits in and never shifts the matched items after it.
    """
    result: list[Span | None] = list(spans)
    i, count = 0, len(result)
    while i < count:
        if result[i] is not None:
            i += 1
            continue
        j = i
        while j < count and result[j] is None:
            j += 1
        gap_start = result[i - 1][1] if i > 0 else start  # type: ignore[index]
        gap_end = result[j][0] if j < count else end  # type: ignore[index]
        gap_end = max(gap_end, gap_start)
        total = sum(max(w, 1e-6) for w in weights[i:j])
        cursor = gap_start
        for k in range(i, j):
            share = (gap_end - gap_start) * max(weights[k], 1e-6) / total
            result[k] = (cursor, cursor + share)
            cursor += share
        i = j
    return [span for span in result if span is not None]


def monotonic(spans: Sequence[Span]) -> list[Span]:
    """Spans clipped so that each starts no earlier than the previous one ends."""
    fixed: list[Span] = []
    last_end = 0.0
    for start, end in spans:
        start = max(start, last_end)
        end = max(end, start)
        fixed.append((start, end))
        last_end = end
    return fixed
