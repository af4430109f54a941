"""Thumbnails stage: three visibly different 1280x720 designs carrying the title."""

from __future__ import annotations

import logging
import textwrap
import unicodedata
from functools import cache
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from engine.cache import Cache, atomic_write_bytes, cache_key, file_digest
from engine.presets import Preset

log = logging.getLogger(__name__)

VERSION = 1
SIZE = (1280, 720)
MAX_BYTES = 2 * 1024 * 1024


def _fit(text: str, font_file: Path, max_width: int, max_lines: int, start: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font and line wrap under which `text` fits in `max_width` and `max_lines`."""
    size = start
    while True:
        font = ImageFont.truetype(str(font_file), size)
        chars = max(6, int(max_width / (size * 0.55)))
        lines = textwrap.wrap(text, width=chars)
        if (len(lines) <= max_lines and all(font.getlength(l) <= max_width for l in lines)) or size <= 28:
            return font, lines[:max_lines]
        size -= 4


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _text_block(draw: ImageDraw.ImageDraw, xy: tuple[int, int], lines: list[str], font, fill, stroke, anchor="la") -> None:
    x, y = xy
    step = int(font.size * 1.12)
    for line in lines:
        draw.text((x, y), line, font=font, fill=fill, stroke_width=max(3, font.size // 14), stroke_fill=stroke, anchor=anchor)
        y += step


def design_bold_bottom(still: Image.Image, title: str, preset: Preset, font_file: Path) -> Image.Image:
    """The still full-bleed, a dark gradient and a huge title along the bottom with an accent bar."""
    image = ImageOps.fit(still, SIZE).convert("RGB")
    shade = Image.linear_gradient("L").resize(SIZE).point(lambda v: int(v * 0.85))
    image.paste((0, 0, 0), mask=shade)
    draw = ImageDraw.Draw(image)
    font, lines = _fit(title.upper(), font_file, 1160, 3, 104)
    height = int(font.size * 1.12) * len(lines)
    top = SIZE[1] - 50 - height
    draw.rectangle((60, top - 28, 300, top - 14), fill=_rgb(preset.thumbnail.accent))
    _text_block(draw, (60, top), lines, font, _rgb(preset.thumbnail.text), (0, 0, 0))
    return image


def design_centre_frame(still: Image.Image, title: str, preset: Preset, font_file: Path) -> Image.Image:
    """A blurred, darkened still inside a thick accent frame, the title centred and outlined."""
    image = ImageOps.fit(still, SIZE).convert("RGB").filter(ImageFilter.GaussianBlur(6))
    image = Image.blend(image, Image.new("RGB", SIZE, (0, 0, 0)), 0.45)
    draw = ImageDraw.Draw(image)
    accent = _rgb(preset.thumbnail.accent)
    draw.rectangle((0, 0, SIZE[0] - 1, SIZE[1] - 1), outline=accent, width=22)
    font, lines = _fit(title, font_file, 1040, 3, 112)
    step = int(font.size * 1.12)
    top = (SIZE[1] - step * len(lines)) // 2
    _text_block(draw, (SIZE[0] // 2, top), lines, font, _rgb(preset.thumbnail.text), accent, anchor="ma")
    return image


def design_split_panel(still: Image.Image, title: str, preset: Preset, font_file: Path) -> Image.Image:
    """A solid panel in the preset's darkest colour with the title, the still on the right."""
    image = Image.new("RGB", SIZE, _rgb(preset.images.palette[0]))
    picture = ImageOps.fit(still, (700, 720)).convert("RGB")
    image.paste(picture, (580, 0))
    draw = ImageDraw.Draw(image)
    accent = _rgb(preset.thumbnail.accent)
    draw.polygon([(520, 0), (640, 0), (580, 720), (460, 720)], fill=_rgb(preset.images.palette[0]))
    draw.line([(640, 0), (580, 720)], fill=accent, width=10)
    font, lines = _fit(title, font_file, 470, 5, 84)
    step = int(font.size * 1.12)
    top = (SIZE[1] - step * len(lines)) // 2
    _text_block(draw, (50, top), lines, font, _rgb(preset.thumbnail.text), (0, 0, 0))
    draw.rectangle((50, top - 30, 170, top - 18), fill=accent)
    return image


DESIGNS = (design_bold_bottom, design_centre_frame, design_split_panel)


def _jpeg(image: Image.Image) -> bytes:
    for quality in (90, 80, 70, 60):
        buffer = BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_BYTES:
            break
    return buffer.getvalue()


@cache
def _drawable(font_file: Path) -> frozenset[int]:
    """The characters the font has a glyph for."""
    from fontTools.ttLib import TTFont

    with TTFont(str(font_file), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _right_to_left(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL", "RLE", "RLO", "RLI")


def drawable_title(title: str, font_file: Path) -> str:
    """The title as it can be drawn right: without what the font cannot draw (emoji, scripts it does not cover) and
    without right-to-left words, which Pillow draws unshaped and backwards here; what is left out is logged once.

    No empty boxes and no mirrored words on a thumbnail, and never a word dropped without a word about it.
    """
    covered = _drawable(font_file)
    kept, dropped = [], []
    for word in title.split():
        if any(_right_to_left(ch) for ch in word):
            dropped.append(word)
            continue
        drawn = "".join(ch for ch in word if ord(ch) in covered)
        if drawn != word:
            dropped.append(word)
        if drawn:
            kept.append(drawn)
    if dropped:
        log.warning("the thumbnail's title leaves out what its font cannot draw right here: %s", " ".join(dropped))
    return " ".join(kept).strip(" :;,.-–—|/")


def make_thumbnails(
    stills: list[Path], title: str, preset: Preset, font_file: Path, folder: Path, variant: int = 0
) -> tuple[Path, ...]:
    """Three designs, each from a different still where there are enough, as 1.jpg, 2.jpg, 3.jpg.

    `variant` turns the designs round, so a regenerated set puts each picture into another design.
    """
    title = drawable_title(title, font_file)
    paths = []
    shift = variant % len(DESIGNS)
    for number, design in enumerate(DESIGNS[shift:] + DESIGNS[:shift], start=1):
        with Image.open(stills[(number - 1) % len(stills)]) as still:
            image = design(_reframe(still.convert("RGB"), variant * 3 + number), title, preset, font_file)
        path = folder / f"{number}.jpg"
        atomic_write_bytes(path, _jpeg(image))
        paths.append(path)
    return tuple(paths)


def cached_thumbnails(stills: list[Path], title: str, preset: Preset, font_file: Path, folder: Path,
                      cache: Cache) -> tuple[tuple[Path, ...], bool]:
    """The first set of thumbnails, designed once per pictures, title and style, copied into `folder`."""
    key = cache_key("thumbnails.set", VERSION, {
        "stills": [file_digest(still) for still in stills], "title": title, "style": preset.thumbnail.model_dump(),
        "font": font_file.name,
    })
    designed, cached = cache.remember(key, tuple[Path, ...],
                                      lambda entry: make_thumbnails(stills, title, preset, font_file, entry))
    copies = []
    for path in designed:
        atomic_write_bytes(folder / path.name, path.read_bytes())
        copies.append(folder / path.name)
    return tuple(copies), cached


def _reframe(still: Image.Image, seed: int) -> Image.Image:
    """The first set shows each picture whole; later sets frame a closer part of it, so no set repeats one."""
    if seed <= 3:
        return still
    width, height = still.size
    scale = 0.8  # 20% closer
    left = int((width - width * scale) * ((seed * 0.382) % 1.0))
    top = int((height - height * scale) * ((seed * 0.618) % 1.0))
    return still.crop((left, top, left + int(width * scale), top + int(height * scale))).resize(still.size)


def variant_picks(stills: list[Path], variant: int) -> list[Path]:
    """Three stills for the `variant`-th regenerated set: spread over the video, away from earlier sets."""
    count = len(stills)
    # Golden-ratio steps visit the video's pictures evenly without repeating soon.
    return [stills[int(((variant * 3 + k) * 0.6180339887 % 1.0) * count)] for k in range(3)]
