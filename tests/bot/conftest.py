"""The bot tests' settings: a private bot for one owner, with a quick preset that renders only the master."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_settings
from tests.bot.fake_telegram import OWNER, TOKEN


@pytest.fixture
def settings(tmp_path: Path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "quick.toml").write_text(
        'name = "quick"\ndescription = "Science, short, master only"\nextends = "science"\nlength = "short"\n'
        'exports = ["youtube"]\n[voice]\npiper = "joe"\n'  # the bundled voice in any language: no hub
    )
    return load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", presets_dir=presets,
                         telegram_token=TOKEN, telegram_allowed=str(OWNER))
