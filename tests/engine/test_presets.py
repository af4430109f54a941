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


SIX = {"military-history", "true-crime", "science", "history-documentary", "mystery-horror", "motivation"}


def test_the_six_niches_ship_with_every_setting():
    assert SIX <= set(preset_files(None))
    for name in SIX:
        preset = load_preset(name, None)
        assert preset.language == "en" and preset.length in ("short", "medium", "long")
        assert preset.images.negative_prompt and preset.exports[0] == "youtube"
        assert preset.llm.script and "{topic}" in preset.llm.script
        assert len(preset.outline.sections) >= 2
    assert load_preset("mystery-horror", None).effects.colour_grade == "noir"
    assert load_preset("motivation", None).captions.style == "short"


def test_a_wrong_choice_names_the_field_and_the_choices(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ndescription = "y"\nextends = "science"\n[effects]\ntransition_style = "spin"\n')
    with pytest.raises(PresetError) as error:
        load_preset_file(bad)
    message = str(error.value)
    assert "bad.toml: field 'effects.transition_style'" in message and "'dissolve'" in message


def test_a_misspelt_field_is_called_unknown(tmp_path: Path):
    bad = tmp_path / "typo.toml"
    bad.write_text('name = "x"\ndescription = "y"\nextends = "science"\n[music]\nvolum_db = -10\n')
    with pytest.raises(PresetError, match=r"typo.toml: field 'music.volum_db': unknown field"):
        load_preset_file(bad)


def test_a_user_preset_extends_a_builtin_one_and_changes_only_what_it_sets(tmp_path: Path):
    (tmp_path / "my-crime.toml").write_text(
        'name = "my-crime"\ndescription = "Mine"\nextends = "true-crime"\n[captions]\nfont_size = 60\n'
    )
    mine, base = load_preset("my-crime", tmp_path), load_preset("true-crime", None)
    assert mine.captions.font_size == 60 and mine.captions.style == base.captions.style
    assert mine.images == base.images and mine.outline == base.outline and mine.description == "Mine"


def test_a_user_preset_may_extend_the_builtin_of_its_own_name(tmp_path: Path):
    (tmp_path / "science.toml").write_text('name = "science"\ndescription = "Mine"\nextends = "science"\nlanguage = "de"\n')
    preset = load_preset("science", tmp_path)
    assert preset.language == "de" and preset.images.palette == load_preset("science", None).images.palette


def test_extending_an_unknown_preset_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "orphan.toml"
    bad.write_text('name = "orphan"\ndescription = "y"\nextends = "cooking"\n')
    with pytest.raises(PresetError, match=r"orphan.toml: field 'extends': no preset named 'cooking'"):
        load_preset_file(bad, tmp_path)


def test_presets_validate_command(tmp_path: Path, cli_env):
    from tests.conftest import run_cli

    good = tmp_path / "good.toml"
    good.write_text('name = "good"\ndescription = "Fine"\nextends = "science"\n')
    ok = run_cli(["presets", "validate", str(good)], cli_env, tmp_path)
    assert ok.returncode == 0 and "valid preset 'good'" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ndescription = "y"\nextends = "science"\n[captions]\ncolour = "white"\n')
    failed = run_cli(["presets", "validate", str(bad)], cli_env, tmp_path)
    assert failed.returncode == 2 and "bad.toml: field 'captions.colour'" in failed.stderr


def test_a_presets_folder_in_the_working_directory_does_not_hide_the_builtin_ones(tmp_path: Path, cli_env):
    from tests.conftest import run_cli

    (tmp_path / "presets").mkdir()  # e.g. where a user keeps their own presets
    result = run_cli(["presets"], cli_env, tmp_path)
    assert result.returncode == 0 and "military-history" in result.stdout
