"""Picture relevance against the labelled pairs the tests keep: each method's threshold sorts them as tuned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.stages.relevance import EmbeddingRelevance, KeywordRelevance, ShotText, best_threshold, make_relevance
from engine.stages.sources import query_terms

PAIRS = json.loads((Path(__file__).parents[2] / "fixtures" / "relevance.json").read_text())["pairs"]


def _accuracy(method) -> float:  # noqa: ANN001
    shots = [ShotText(query_terms(p["scene"], p["subject"]), f"{p['scene']} {p['subject']}") for p in PAIRS]
    scores = [row[0] for row in method.scores(shots, [[p["candidate"]] for p in PAIRS])]
    return sum((s >= method.threshold) == p["relevant"] for s, p in zip(scores, PAIRS)) / len(PAIRS)


def test_shared_words_sort_the_labelled_pairs_at_their_threshold():
    assert _accuracy(KeywordRelevance()) >= 0.75


@pytest.mark.skipif(make_relevance().name != "embeddings", reason="needs the ml extra (sentence embeddings)")
def test_meaning_sorts_them_better_than_shared_words():
    assert _accuracy(EmbeddingRelevance()) >= 0.85 > _accuracy(KeywordRelevance())


def test_the_best_threshold_is_the_one_that_sorts_best():
    assert best_threshold([0.1, 0.5, 0.6, 0.2], [False, True, True, False]) == (0.5, 1.0)


def test_an_image_text_model_orders_the_shortlist_by_looking_at_the_pictures(tiny_clip: Path, tmp_path: Path):
    from PIL import Image

    from engine.stages.relevance import ClipRanker, clip_similarities, make_picture_ranker

    pictures = []
    for k, colour in enumerate(((200, 30, 30), (30, 200, 30), (30, 30, 200))):
        pictures.append(tmp_path / f"{k}.jpg")
        Image.new("RGB", (1600, 900), colour).save(pictures[-1])
    scores = clip_similarities(str(tiny_clip), ["trucks on the ice of Lake Ladoga"], [pictures])
    assert len(scores[0]) == 3 and all(-1.0 <= s <= 1.0 for s in scores[0]) and len(set(scores[0])) == 3
    assert isinstance(make_picture_ranker(str(tiny_clip)), ClipRanker)
    [in_child] = ClipRanker(str(tiny_clip)).order(["trucks"], [pictures])
    assert in_child == pytest.approx(clip_similarities(str(tiny_clip), ["trucks"], [pictures])[0], abs=1e-5)
    assert make_picture_ranker("") is None and make_picture_ranker(str(tmp_path)) is None  # not a model: none
    assert make_picture_ranker("openai/clip-vit-base-patch32") is None  # not in the local cache: never fetched


def test_the_image_text_model_is_never_downloaded_for_a_shot(fake_hf, tmp_path: Path, monkeypatch):
    """M4: a hub model named but not (whole) in the cache is an error at once, not a download inside a job."""
    pytest.importorskip("transformers", reason="needs the ml extra (transformers)")
    from PIL import Image

    from engine.stages.relevance import clip_similarities

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    Image.new("RGB", (32, 32), "grey").save(tmp_path / "a.jpg")
    with pytest.raises(OSError):
        clip_similarities("someone/clip-not-here", ["trucks"], [[tmp_path / "a.jpg"]])
    assert not [call for call in fake_hf.calls if "clip-not-here" in call.path]  # the hub was never asked
