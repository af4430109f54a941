"""Images stage: one still per shot, cached one by one; offline a procedural painter."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from engine.cache import Cache, cache_key, translate_os_errors
from engine.models import Shot
from engine.presets import Effects, Preset

VERSION = 3
SIZE = (1920, 1080)


@dataclass(frozen=True)
class Still:
    """One generated image for one shot."""

    shot: int
    path: Path  # a picture; for footage, the finished clip
    backend: str
    poster: Path | None = None  # footage only: one frame of the clip, where a picture is needed

    @property
    def image(self) -> Path:
        """A picture of the shot: the still itself, or the clip's poster frame."""
        return self.poster or self.path


class ImageBackend(Protocol):
    """Something that turns a prompt into a picture."""

    name: str

    def settings(self) -> dict[str, object]:
        """What changes the pictures; part of every cache key."""
        ...

    def paint(self, prompt: str, preset: Preset, size: tuple[int, int], out: Path) -> None:
        """Write a picture for `prompt` at `out`."""
        ...


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


# Prompt words that switch on a motif, so scenes about different things look different.
_MOTIFS = {
    "stars": ("night", "star", "space", "cosmic", "telescope", "sky", "dark"),
    "snow": ("snow", "winter", "frozen", "ice", "cold", "frost"),
    "fire": ("fire", "burning", "explosion", "smoke", "artillery", "flame"),
    "city": ("city", "street", "ruins", "building", "alley", "courtroom", "museum", "room"),
    "water": ("lake", "sea", "river", "water", "rain", "wet", "ocean"),
    "grid": ("map", "diagram", "lab", "laboratory", "file", "evidence", "screen", "atom"),
}


class ProceduralPainter:
    """Offline artwork from the prompt's hash and the preset's palette: same prompt, same picture."""

    name = "procedural"

    def settings(self) -> dict[str, object]:
        """Only the painter's version changes its output."""
        return {"backend": self.name, "version": VERSION}

    def paint(self, prompt: str, preset: Preset, size: tuple[int, int], out: Path) -> None:
        """Gradient sky, glows, a silhouette horizon and prompt motifs (the preset's look comes after)."""
        seed = int.from_bytes(hashlib.sha256(f"{prompt}|{preset.images.palette}".encode()).digest()[:8], "big")
        rng = np.random.default_rng(seed)
        palette = [_rgb(c) for c in preset.images.palette]
        dark, light = palette[0], palette[int(rng.integers(2, len(palette)))]
        accent = palette[int(rng.integers(1, len(palette)))]
        words = set(prompt.lower().replace(",", " ").split())
        motifs = [name for name, cues in _MOTIFS.items() if words & set(cues)]
        image = _sky(rng, palette, dark, light, size)
        draw = ImageDraw.Draw(image, "RGBA")
        # The drawing order is the random draws' order: it must stay, or the same prompt paints another picture.
        _stars_and_grid(draw, rng, motifs, accent, size)
        _accents(draw, rng, light, accent, size)
        if "fire" in motifs:
            width, height = size
            for _ in range(40):
                x, y, r = rng.uniform(0, width), rng.uniform(height * 0.45, height), rng.uniform(20, 120)
                draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, int(rng.integers(80, 170)), 30, int(rng.integers(20, 60))))
        _horizons(draw, rng, "city" in motifs, dark, light, size)
        _water_and_snow(draw, rng, motifs, light, size)
        with translate_os_errors(str(out)):
            image.convert("RGB").save(out, "PNG", compress_level=1)


def _tone(colour: np.ndarray, alpha: int) -> tuple[int, int, int, int]:
    return (*(int(v) for v in colour), alpha)


def _sky(rng: np.random.Generator, palette: list[np.ndarray], dark: np.ndarray, light: np.ndarray,
         size: tuple[int, int]) -> Image.Image:
    """A gradient with soft glows, painted small, blurred and scaled up: cheap and smooth."""
    width, height = size
    small_w, small_h = width // 4, height // 4
    ys, xs = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    ramp = (np.cos(angle) * xs / small_w + np.sin(angle) * ys / small_h)
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
    sky = dark[None, None, :] * (1 - ramp[..., None]) + light[None, None, :] * ramp[..., None] * 0.8
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(0, small_w), rng.uniform(0, small_h * 0.7)
        radius = rng.uniform(0.15, 0.45) * small_w
        glow = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))[..., None]
        colour = palette[int(rng.integers(1, len(palette)))]
        sky = sky * (1 - 0.55 * glow) + colour[None, None, :] * 0.55 * glow
    base = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3))
    return base.resize(size, Image.BICUBIC)


def _stars_and_grid(draw: ImageDraw.ImageDraw, rng: np.random.Generator, motifs: list[str], accent: np.ndarray,
                    size: tuple[int, int]) -> None:
    width, height = size
    if "stars" in motifs:
        for x, y, r in zip(rng.uniform(0, width, 300), rng.uniform(0, height * 0.6, 300), rng.uniform(1, 3.5, 300)):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 240, int(rng.integers(90, 230))))
    if "grid" in motifs:
        step = int(rng.integers(60, 140))
        for x in range(0, width, step):
            draw.line((x, 0, x, height), fill=_tone(accent, 40), width=2)
        for y in range(0, height, step):
            draw.line((0, y, width, y), fill=_tone(accent, 40), width=2)
        for _ in range(int(rng.integers(4, 9))):
            x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(20, 80)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=_tone(accent, 170), width=5)


def _accents(draw: ImageDraw.ImageDraw, rng: np.random.Generator, light: np.ndarray, accent: np.ndarray,
             size: tuple[int, int]) -> None:
    """Geometric accents: rings and shards seeded by the prompt."""
    width, height = size
    for _ in range(int(rng.integers(2, 6))):
        x, y, r = rng.uniform(0, width), rng.uniform(0, height * 0.7), rng.uniform(40, 260)
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), outline=_tone(light, int(rng.integers(40, 110))), width=int(rng.integers(3, 12)))
        else:
            points = [(x + r * np.cos(a), y + r * np.sin(a)) for a in np.sort(rng.uniform(0, 2 * np.pi, 3))]
            draw.polygon(points, fill=_tone(accent, int(rng.integers(40, 120))))


def _horizons(draw: ImageDraw.ImageDraw, rng: np.random.Generator, city: bool, dark: np.ndarray, light: np.ndarray,
              size: tuple[int, int]) -> None:
    """Horizon silhouettes in two depths; a skyline when the prompt mentions a city."""
    width, height = size
    for depth, shade in ((0.62, 0.55), (0.78, 0.2)):
        colour = _tone(dark * shade + light * (1 - shade) * 0.25, 255)
        horizon = height * (depth + rng.uniform(-0.06, 0.06))
        if city:
            x, points = 0.0, [(0.0, float(height))]
            while x < width:
                w, h = rng.uniform(40, 160), rng.uniform(40, 260)
                points += [(x, horizon - h), (x + w, horizon - h)]
                x += w
            points += [(float(width), float(height))]
        else:
            steps = np.cumsum(rng.normal(0, 14, 97))
            xs_line = np.linspace(0, width, 97)
            points = [(0.0, float(height))] + [(float(a), float(horizon + b)) for a, b in zip(xs_line, steps)] + [(float(width), float(height))]
        draw.polygon(points, fill=colour)


def _water_and_snow(draw: ImageDraw.ImageDraw, rng: np.random.Generator, motifs: list[str], light: np.ndarray,
                    size: tuple[int, int]) -> None:
    width, height = size
    if "water" in motifs:
        for y in np.linspace(height * 0.8, height, 24):
            draw.line((0, y, width, y + rng.uniform(-4, 4)), fill=_tone(light, int(rng.integers(25, 70))), width=3)
    if "snow" in motifs:
        for x, y, r in zip(rng.uniform(0, width, 500), rng.uniform(0, height, 500), rng.uniform(1.5, 5, 500)):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(245, 248, 255, int(rng.integers(110, 220))))


# Colour grades as 3x3 matrices on RGB (rows: output channel), then a lift of the blacks.
_GRADES: dict[str, tuple[tuple[tuple[float, ...], ...], float]] = {
    "none": (((1, 0, 0), (0, 1, 0), (0, 0, 1)), 0.0),
    "warm": (((1.08, 0.02, 0), (0, 1.0, 0), (0, 0, 0.86)), 0.0),
    "cold": (((0.9, 0, 0), (0, 0.98, 0.04), (0, 0.04, 1.1)), 0.0),
    "sepia": (((0.39, 0.77, 0.19), (0.35, 0.69, 0.17), (0.27, 0.53, 0.13)), 6.0),
    "noir": (((0.36, 0.6, 0.14), (0.33, 0.58, 0.13), (0.33, 0.58, 0.13)), 0.0),
    "teal-orange": (((1.1, 0.05, -0.08), (-0.02, 1.0, 0.02), (-0.1, 0.06, 1.0)), 0.0),
    "faded": (((0.85, 0.08, 0.04), (0.06, 0.85, 0.06), (0.05, 0.08, 0.82)), 24.0),
}


def grade_filter(effects: Effects) -> str:
    """The colour grade of finish_still as ffmpeg filters, for footage ("" for none); a softer vignette, no grain.

    Real footage has its own grain, and noise that changes every frame would cost the encoder dearly.
    """
    matrix, lift = _GRADES[effects.colour_grade]
    gain, offset = (1.2, 128 * (1 - 1.2)) if effects.colour_grade == "noir" else (1.0, 0.0)
    scale, shift = gain * (1 - lift / 255), lift + offset * (1 - lift / 255)
    mixer = ":".join(f"{c}{k}={matrix[i][j] * scale:.4f}" for i, c in enumerate("rgb") for j, k in enumerate("rgb"))
    filters = [] if effects.colour_grade == "none" else [f"colorchannelmixer={mixer}"]
    if shift:
        lift_by = f"'clip(val+{shift:.2f},minval,maxval)'"
        filters.append(f"lutrgb=r={lift_by}:g={lift_by}:b={lift_by}")
    if effects.vignette:
        filters.append(f"vignette=angle={0.15 + 0.5 * effects.vignette:.3f}")
    return ",".join(filters)


def finish_still(path: Path, effects: Effects, seed: int, size: tuple[int, int] = SIZE) -> None:
    """The preset's look on any picture, painted or generated: fitted to the frame, colour grade, vignette, grain."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    if image.size != size:
        image = cover(image, size)
    width, height = image.size
    pixels = np.asarray(image, dtype=np.float32)
    matrix, lift = _GRADES[effects.colour_grade]
    pixels = pixels @ np.asarray(matrix, dtype=np.float32).T
    if effects.colour_grade == "noir":
        pixels = (pixels - 128) * 1.2 + 128  # harder contrast for black and white
    pixels = lift + pixels * (1 - lift / 255)
    yy, xx = np.ogrid[-1 : 1 : complex(0, height), -1 : 1 : complex(0, width)]
    vignette = 1 - effects.vignette * 0.55 * np.clip((xx**2 + yy**2) / 2, 0, 1) ** 1.2
    pixels *= vignette[..., None]
    if effects.grain:
        # Grain as a soft mottle (noise at a third of the size, smoothly enlarged): it reads as
        # film texture but, unlike per-pixel noise, costs the encoder almost nothing.
        rng = np.random.default_rng(seed)
        mottle = rng.normal(0, 255 * effects.grain, (height // 3, width // 3)).astype(np.float32)
        small = Image.fromarray(np.clip(mottle + 128, 0, 255).astype(np.uint8))
        pixels += (np.asarray(small.resize((width, height), Image.BILINEAR), dtype=np.float32) - 128)[..., None]
    with translate_os_errors(str(path)):
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, "PNG", compress_level=1)


def generation_size(size: tuple[int, int], pixels: int = 1024 * 1024) -> tuple[int, int]:
    """A size of about `pixels` with the frame's aspect ratio, in multiples of 64 (what FLUX wants)."""
    width, height = size
    scale = (pixels / (width * height)) ** 0.5
    return max(64, round(width * scale / 64) * 64), max(64, round(height * scale / 64) * 64)


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` scaled to cover `size` and centre-cropped to it."""
    width, height = size
    scale = max(width / image.width, height / image.height)
    scaled = image.convert("RGB").resize((max(width, round(image.width * scale)), max(height, round(image.height * scale))),
                                         Image.LANCZOS)
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def paint_shots(
    shots: tuple[Shot, ...],
    preset: Preset,
    backend: ImageBackend,
    cache: Cache,
    workers: int = 2,
    on_item: Callable[[bool], None] = lambda cached: None,
) -> tuple[Still, ...]:
    """One picture per shot, each cached on its own so a killed run resumes at the next picture."""

    def one(shot: Shot) -> Still:
        key = cache_key("images.still", VERSION, {"prompt": shot.prompt, "palette": preset.images.palette,
                                                   "negative": preset.images.negative_prompt,
                                                   "effects": preset.effects.model_dump(), **backend.settings()})

        def compute(folder: Path) -> Still:
            path = folder / "still.png"
            backend.paint(shot.prompt, preset, SIZE, path)
            finish_still(path, preset.effects, seed=int(hashlib.sha256(shot.prompt.encode()).hexdigest()[:8], 16))
            return Still(shot.index, path, backend.name)

        still, cached = cache.remember(key, Still, compute)
        on_item(cached)
        return Still(shot.index, still.path, still.backend)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return tuple(pool.map(one, shots))
