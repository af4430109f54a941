"""Thumbnails: what the font cannot draw is left out of the title, never drawn as empty boxes."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from engine.fonts import BOLD_FILE, bold_font_dir
from engine.presets import load_preset
from engine.stages.thumbnails import SIZE, drawable_title, make_thumbnails


def test_emoji_and_uncovered_scripts_are_left_out_of_the_title(tmp_path: Path):
    font = bold_font_dir(tmp_path) / BOLD_FILE
    assert drawable_title("The Siege 🔥 of Leningrad 💀", font) == "The Siege of Leningrad"
    assert drawable_title("Блокада Ленинграда", font) == "Блокада Ленинграда"  # Cyrillic is covered
    assert drawable_title("حصار لينينغراد", font) == ""  # Arabic is not: no reversed boxes, no text


def test_a_title_with_emoji_still_makes_three_thumbnails(tmp_path: Path):
    font = bold_font_dir(tmp_path) / BOLD_FILE
    still = tmp_path / "still.png"
    Image.new("RGB", (1920, 1080), (40, 60, 90)).save(still)
    made = make_thumbnails([still], "🔥 Comets 🔥 حصار", load_preset("science", None), font, tmp_path / "out")
    assert [path.name for path in made] == ["1.jpg", "2.jpg", "3.jpg"]
    for path in made:
        with Image.open(path) as image:
            assert image.size == SIZE and image.format == "JPEG"


def test_right_to_left_words_are_left_out_with_one_warning_naming_them(tmp_path: Path, caplog):
    """I7: an Arabic title's words vanished silently; until thumbnails shape right-to-left text, what can be drawn
    right is drawn, and one warning names what was left out."""
    font = bold_font_dir(tmp_path) / BOLD_FILE
    caplog.set_level("WARNING")
    assert drawable_title("تاريخ الحصار: The Untold Story", font) == "The Untold Story"
    warned = [r.message for r in caplog.records if "leaves out" in r.getMessage()]
    assert len(warned) == 1 and "تاريخ الحصار:" in caplog.text
    caplog.clear()
    assert drawable_title("The Siege of Leningrad", font) == "The Siege of Leningrad" and not caplog.records
