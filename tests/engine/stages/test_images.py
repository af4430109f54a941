import pytest
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from engine.cache import Cache
from engine.models import Shot
from engine.presets import load_preset
from engine.stages.images import ProceduralPainter, paint_shots


def test_same_prompt_same_picture_different_prompts_differ(tmp_path: Path):
    preset = load_preset("science", None)
    shots = tuple(Shot(i, i, i, i + 1, prompt, "zoom_in", "calm") for i, prompt in
                  enumerate(["stars over a telescope", "laboratory with glass", "stars over a telescope"]))
    cached = []
    stills = paint_shots(shots, preset, ProceduralPainter(), Cache(tmp_path), workers=2, on_item=cached.append)
    digests = [hashlib.sha256(s.path.read_bytes()).hexdigest() for s in stills]
    assert digests[0] == digests[2] and digests[0] != digests[1]
    with Image.open(stills[0].path) as image:
        assert image.size == (1920, 1080)
        pixels = np.asarray(image, dtype=np.float32)
    assert pixels.std() > 10  # a picture, not a flat fill
    again = []
    paint_shots(shots, preset, ProceduralPainter(), Cache(tmp_path), on_item=again.append)
    assert again == [True, True, True]


@pytest.mark.parametrize("grade", ["faded", "noir", "warm", "sepia"])
def test_footage_is_graded_by_ffmpeg_as_stills_are_by_numpy(tmp_path: Path, grade: str):
    from engine.media import run_ffmpeg
    from engine.stages.images import finish_still, grade_filter

    effects = load_preset("military-history", None).effects.model_copy(update={
        "colour_grade": grade, "vignette": 0.0, "grain": 0.0})
    rng = np.random.default_rng(1)
    blocks = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)
    Image.fromarray(blocks).resize((1920, 1080), Image.NEAREST).save(tmp_path / "still.png")
    run_ffmpeg(["-i", str(tmp_path / "still.png"), "-vf", f"{grade_filter(effects)},format=rgb24",
                str(tmp_path / "graded.png")], what="the graded frame")
    finish_still(tmp_path / "still.png", effects, seed=0)
    by_numpy = np.asarray(Image.open(tmp_path / "still.png"), dtype=float)
    by_ffmpeg = np.asarray(Image.open(tmp_path / "graded.png"), dtype=float)
    assert np.abs(by_numpy - by_ffmpeg).mean() < 2.0  # the same look, up to rounding
