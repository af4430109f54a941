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
