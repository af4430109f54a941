"""The offline outline grown to a length: chapters, words within ±10% of the minutes, no sentence twice."""

from __future__ import annotations

import pytest

from engine.presets import load_preset
from engine.stages import longform
from engine.stages.script import outline_script
from engine.text import split_sentences, split_words


def _words(script) -> int:  # noqa: ANN001
    return sum(len(split_words(scene.narration)) for scene in script.scenes)


@pytest.mark.parametrize("minutes", [3, 10, 20, 30])
def test_the_grown_outline_lands_within_ten_percent_of_its_minutes_in_chapters(minutes: int):
    preset = load_preset("military-history", None)
    script = outline_script("The Siege of Leningrad", preset, "medium", minutes)
    seconds = longform.spoken_seconds(_words(script), len(script.scenes), preset.voice.speed)
    assert abs(seconds - minutes * 60) <= 0.1 * minutes * 60
    assert len(script.chapters) >= 3 and script.chapters[0] == "Introduction" and script.chapters[-1] == "Conclusion"
    assert sorted({scene.chapter for scene in script.scenes}) == list(range(len(script.chapters)))
    assert [scene.chapter for scene in script.scenes] == sorted(scene.chapter for scene in script.scenes)


def test_a_long_outline_never_says_a_sentence_twice_and_each_picture_differs():
    script = outline_script("The Siege of Leningrad", load_preset("military-history", None), "medium", 30)
    sentences = [s for scene in script.scenes for s in split_sentences(scene.narration)]
    assert len(sentences) > 300 and len(sentences) == len(set(sentences))
    prompts = [scene.image_prompt for scene in script.scenes]
    assert len(prompts) == len(set(prompts))


def test_a_middle_chapter_opens_with_its_question_and_the_same_topic_gets_the_same_script():
    preset = load_preset("science", None)
    first = outline_script("Black holes", preset, "medium", 10)
    again = outline_script("Black holes", preset, "medium", 10)
    assert first == again
    opener = next(scene for scene in first.scenes if scene.chapter == 1)
    assert split_sentences(opener.narration)[0].endswith("?")
    assert outline_script("Dark matter", preset, "medium", 10).scenes[5].narration != first.scenes[5].narration


def test_a_longer_video_gets_more_chapters_up_to_the_presets_sections():
    plans = [longform.chapter_plan(minutes, 8) for minutes in (1, 10, 20, 30)]
    assert [plan.chapters for plan in plans] == [3, 4, 8, 8]
    assert plans[3].words_per_chapter > plans[2].words_per_chapter


def test_a_length_choice_reads_its_minutes():
    assert longform.minutes_of("20m") == 20 and longform.minutes_of("long") is None
    assert longform.minutes_of("0m") is None and longform.minutes_of("999m") is None
