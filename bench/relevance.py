"""Tune the picture relevance thresholds on the labelled pairs the tests keep; report each method's accuracy.

Run: python bench/relevance.py   (writes bench/results/relevance.json)
The thresholds found go into engine/stages/relevance.py (KEYWORD_THRESHOLD, EMBEDDING_THRESHOLD).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.stages.relevance import (EmbeddingRelevance, KeywordRelevance, ShotText, best_threshold,  # noqa: E402
                                     make_relevance)

FIXTURES = ROOT / "tests" / "fixtures" / "relevance.json"


def shot_text(pair: dict) -> ShotText:
    """A labelled pair's shot as the picker sees it."""
    from engine.stages.sources import query_terms

    return ShotText(query_terms(pair["scene"], pair["subject"]), f"{pair['scene']} {pair['subject']}")


def main() -> None:
    """Score every pair with each method that can run here; the best threshold and its accuracy."""
    pairs = json.loads(FIXTURES.read_text())["pairs"]
    labels = [pair["relevant"] for pair in pairs]
    methods = [KeywordRelevance()] + ([EmbeddingRelevance()] if make_relevance().name == "embeddings" else [])
    results = {"pairs": len(pairs)}
    for method in methods:
        scores = [row[0] for row in method.scores([shot_text(p) for p in pairs], [[p["candidate"]] for p in pairs])]
        threshold, accuracy = best_threshold(scores, labels)
        results[method.name] = {"threshold": threshold, "accuracy": round(accuracy, 3),
                                "accuracy_at_current_threshold": round(sum(
                                    (s >= method.threshold) == r for s, r in zip(scores, labels)) / len(pairs), 3)}
    out = ROOT / "bench" / "results" / "relevance.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
