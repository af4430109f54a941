from pathlib import Path

import pytest

from engine.errors import InputError
from engine.presets import load_preset
from engine.stages.script import (
    check_topic,
    outline_script,
    read_script_file,
    text_script,
)


@pytest.fixture
def preset():
    return load_preset("military-history", None)


def test_outline_has_hook_sections_conclusion_with_prompts_and_moods(preset):
    script = outline_script("The Siege of Leningrad", preset, "short")
    sections = [scene.section for scene in script.scenes]
    assert sections[0] == "hook" and sections[-1] == "conclusion" and len(sections) == 4
    assert all("The Siege of Leningrad" in scene.image_prompt for scene in script.scenes)
    assert all(scene.mood in ("calm", "tense", "dramatic", "uplifting") for scene in script.scenes)
    assert outline_script("The Siege of Leningrad", preset, "short") == script  # same topic, same script
    assert len(outline_script("The Siege of Leningrad", preset, "long").scenes) > len(script.scenes)


def test_own_text_splits_at_paragraphs_and_sentences(preset):
    long_paragraph = " ".join(f"Sentence number {i} talks about the battle at the river." for i in range(12))
    text = f"My Title\n\nFirst paragraph is short.\n\n{long_paragraph}"
    script = text_script(text, "fallback", preset)
    assert script.title == "My Title"
    assert script.scenes[0].narration == "First paragraph is short."
    assert len(script.scenes) >= 3  # the long paragraph became several scenes
    assert all(scene.narration.endswith(".") for scene in script.scenes)  # never cut mid-sentence
    assert "".join(s.narration for s in script.scenes).count("Sentence number") == 12


def test_topic_limits():
    assert check_topic("  The   Siege ") == "The Siege"
    with pytest.raises(InputError, match="empty"):
        check_topic("   ")
    with pytest.raises(InputError, match="501 characters"):
        check_topic("x" * 501)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00\x01\x02binary", "not a text file"), (b"\xff\xfe\xfa", "not UTF-8"), (b"   \n", "is empty")],
)
def test_unreadable_script_files(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "script.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_script_file(path)
    with pytest.raises(InputError, match="missing.txt does not exist or is not a plain file"):
        read_script_file(tmp_path / "missing.txt")


def test_a_script_of_punctuation_only_is_refused(tmp_path: Path):
    from engine.stages.script import read_script_file

    script = tmp_path / "noise.txt"
    script.write_text("!!! ???\n\n... — !\n")
    with pytest.raises(InputError, match="has no words to say, only punctuation"):
        read_script_file(script)


def test_headings_of_a_script_file_become_chapters_and_a_lone_top_heading_the_title(preset):
    text = ("# The Road of Life\n\n## The Ice\n\n[1941-11-22, Lake Ladoga] The first convoy crossed in November.\n\n"
            "Drivers kept their doors open.\n\n## The Winter\n\nBread rations fell to a few grams.\n\n"
            "## Empty\n\n## The Spring\n\nBoats took over when the ice melted.")
    script = text_script(text, "file-name", preset)
    assert script.title == "The Road of Life"
    assert script.chapters == ("The Ice", "The Winter", "The Spring")  # a heading with nothing under it is no chapter
    assert [s.chapter for s in script.scenes] == [0, 0, 1, 2]
    assert script.scenes[0].lower_third == "1941-11-22, Lake Ladoga"
    assert script.scenes[0].narration == "The first convoy crossed in November."  # the mark is shown, not said


def test_text_before_the_first_heading_is_the_introduction_and_plain_text_has_no_chapters(preset):
    script = text_script("It began quietly.\n\n# One\nFirst part.\n\n# Two\nSecond part.", "t", preset)
    assert script.chapters == ("Introduction", "One", "Two") and script.title == "t"
    plain = text_script("My Title\nHello there. Another one.\n\nSecond paragraph.", "t", preset)
    assert plain.chapters == () and plain.title == "My Title" and {s.chapter for s in plain.scenes} == {0}


def test_more_chapters_than_the_longest_video_holds_are_refused_in_one_line(tmp_path, preset):
    """I9: 200 chapters are refused at intake; the limit follows from 60 minutes in chapters of 30 s."""
    from engine.config import load_settings
    from engine.errors import InputError
    from engine.models import JobRequest
    from engine.pipeline import prepare
    from engine.stages.script import MAX_CHAPTERS

    assert MAX_CHAPTERS == 120
    many = tmp_path / "many.txt"
    many.write_text("\n\n".join(f"# Part {k}\n\nThe convoy moved on across the ice." for k in range(200)))
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output")
    with pytest.raises(InputError, match="the script opens 200 chapters; at most 120"):
        prepare(JobRequest(topic="", preset="science", script_file=many), settings)
    fits = tmp_path / "fits.txt"
    fits.write_text("\n\n".join(f"# Part {k}\n\nThe convoy moved on across the ice." for k in range(120)))
    assert prepare(JobRequest(topic="", preset="science", script_file=fits), settings).request.script_file
    assert not (tmp_path / "output").exists()
