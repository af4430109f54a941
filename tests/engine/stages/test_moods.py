"""Scene moods from narration: sentence embeddings against mood descriptions, the lexicon as fallback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.cache import Cache
from engine.models import Scene, Script
from engine.stages.moods import EmbeddingMoods, LexiconMoods, assign_moods, make_mood_classifier

# Written for this test, not taken from the mood descriptions.
LABELLED = [
    ("The village lay quiet under the snow, and the river moved slowly past the mill.", "calm"),
    ("Every morning the baker opened his shop and greeted the same neighbours.", "calm"),
    ("To understand the plan, we first need to look at the map of the region.", "calm"),
    ("The telescope was placed on a mountain where the air is dry and still.", "calm"),
    ("Farmers brought their harvest to the market as they had for centuries.", "calm"),
    ("In the library, the old manuscripts were sorted by year and by author.", "calm"),
    ("Footsteps echoed in the corridor, but when she turned around no one was there.", "tense"),
    ("The phone rang at three in the morning, and the voice on the line only whispered a name.", "tense"),
    ("Nobody could explain why the lighthouse keeper had vanished without his coat.", "tense"),
    ("The patrol crept toward the treeline, certain they were being watched.", "tense"),
    ("Investigators found a second set of fingerprints that matched no one.", "tense"),
    ("The clock was ticking, and the bomb squad still had not found the device.", "tense"),
    ("Shells rained down on the harbour and the ships burned through the night.", "dramatic"),
    ("Within a single winter, hundreds of thousands died of cold and starvation.", "dramatic"),
    ("The dam gave way and a wall of water swept the town from the valley.", "dramatic"),
    ("The victim's body was found in the burned-out car two days later.", "dramatic"),
    ("Wave after wave of infantry was cut down on the beach.", "dramatic"),
    ("The earthquake levelled the capital, leaving millions homeless.", "dramatic"),
    ("When the siege was finally lifted, people danced in the streets and wept with joy.", "uplifting"),
    ("Against every prediction, the small team built a vaccine in under a year.", "uplifting"),
    ("Years later, the survivors returned to plant a garden where the camp had stood.", "uplifting"),
    ("Your first step does not need to be perfect; it only needs to be taken.", "uplifting"),
    ("The probe sent back its first pictures, and the whole control room cheered.", "uplifting"),
    ("She crossed the finish line after a decade of training and injuries.", "uplifting"),
]


def _accuracy(classifier) -> float:
    guessed = classifier.classify([text for text, _ in LABELLED])
    return sum(g == label for g, (_, label) in zip(guessed, LABELLED)) / len(LABELLED)


def test_embeddings_name_at_least_four_in_five_moods_right():
    pytest.importorskip("sentence_transformers")
    assert _accuracy(EmbeddingMoods()) >= 0.8


def test_the_embedding_model_leaves_nothing_behind_in_the_process_that_asked():
    pytest.importorskip("sentence_transformers")
    # torch and the model stay resident once loaded: read in a child, they never weigh on the stages after.
    code = ("import sys; from engine.stages.moods import EmbeddingMoods; "
            f"print(EmbeddingMoods().classify({[LABELLED[12][0]]!r})); "
            "print(sorted(name for name in ('torch', 'sentence_transformers') if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).resolve().parents[3])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["['dramatic']", "[]"]


def test_the_lexicon_fallback_is_better_than_chance():
    assert _accuracy(LexiconMoods()) > 0.25


def test_auto_picks_embeddings_when_installed():
    pytest.importorskip("sentence_transformers")
    assert make_mood_classifier("auto").name == "embeddings"
    assert make_mood_classifier("lexicon").name == "lexicon"


def test_own_text_gets_guessed_moods_and_the_preset_overrides_parts(tmp_path: Path):
    scenes = (
        Scene(0, LABELLED[0][0], "p", "calm", "part-1"),
        Scene(1, LABELLED[12][0], "p", "calm", "part-2"),
        Scene(2, LABELLED[18][0], "p", "calm", "part-3"),
    )
    script = Script("t", "t", "en", scenes, "own-text")
    moods = [s.mood for s in assign_moods(script, LexiconMoods(), {"part-3": "tense"}, Cache(tmp_path)).scenes]
    assert moods == ["calm", "dramatic", "tense"]
    outline = Script("t", "t", "en", scenes, "outline")  # an author's moods are kept
    assert [s.mood for s in assign_moods(outline, LexiconMoods(), {}, Cache(tmp_path)).scenes] == ["calm", "calm", "calm"]


def test_a_reading_once_made_is_taken_from_the_cache_without_the_model(tmp_path: Path):
    scenes = (Scene(0, LABELLED[12][0], "p", "calm", "part-1"),)
    script = Script("t", "t", "en", scenes, "own-text")

    class Counting(LexiconMoods):
        calls = 0

        def classify(self, texts):
            Counting.calls += 1
            return super().classify(texts)

    first = assign_moods(script, Counting(), {}, Cache(tmp_path))
    again = assign_moods(script, Counting(), {}, Cache(tmp_path))
    assert first == again and Counting.calls == 1
