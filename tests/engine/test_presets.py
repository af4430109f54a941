from pathlib import Path

import pytest

from engine.errors import PresetError
from engine.presets import load_preset, load_preset_file, preset_files


def test_builtin_presets_load():
    names = set(preset_files(None))
    assert {"military-history", "true-crime", "science"} <= names
    for name in names:
        preset = load_preset(name, None)
        assert preset.name == name and preset.description


def test_unknown_preset_lists_known_ones():
    with pytest.raises(PresetError) as error:
        load_preset("cooking", None)
    assert "unknown preset 'cooking'" in str(error.value)
    assert "military-history" in str(error.value) and "science" in str(error.value)


def test_broken_toml_names_the_file(tmp_path: Path):
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed")
    with pytest.raises(PresetError, match="broken.toml: not valid TOML"):
        load_preset_file(broken)


def test_bad_field_names_the_field(tmp_path: Path):
    source = (Path(__file__).parents[2] / "presets" / "science.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(source.replace('palette = ["#050A1F"', 'palette = ["blue"'))
    with pytest.raises(PresetError, match=r"bad.toml: field 'images.palette.0'"):
        load_preset_file(bad)


def test_user_preset_overrides_builtin(tmp_path: Path):
    source = (Path(__file__).parents[2] / "presets" / "science.toml").read_text()
    (tmp_path / "science.toml").write_text(source.replace("Discoveries explained clearly", "My own science"))
    assert load_preset("science", tmp_path).description.startswith("My own science")
