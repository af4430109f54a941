"""pyproject.toml's version floors admit no release that lacks what the code calls (V1)."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

PROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]


def _requirement(name: str) -> Requirement:
    lines = PROJECT["dependencies"] + [line for extra in PROJECT["optional-dependencies"].values() for line in extra]
    return next(r for r in map(Requirement, lines) if r.name == name)


def test_edge_tts_and_kokoro_floors_are_the_releases_that_brought_what_we_call():
    edge, kokoro = _requirement("edge-tts").specifier, _requirement("kokoro-onnx").specifier
    assert "7.1.0" not in edge and "7.2.0" in edge  # Communicate(boundary=…) arrived in 7.2
    assert "0.5.0" not in kokoro and "0.6.0" in kokoro  # Kokoro.create(sentence_pause=…) arrived in 0.6
    assert version("edge-tts") in edge and version("kokoro-onnx") in kokoro  # what is installed here meets them
