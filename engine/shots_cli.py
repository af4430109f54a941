"""`videofactory shots FOLDER`: each shot of a made video, where its picture came from, and a contact sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from engine.cache import translate_os_errors
from engine.config import Settings
from engine.errors import InputError
from engine.fonts import BOLD_FILE, bold_font_dir
from engine.records import CreditRecord, read_manifest, read_script

SHEET_NAME = "contact-sheet.jpg"
TILE = (384, 216)
COLUMNS = 4


def shot_lines(credits: dict[int, CreditRecord], count: int, painter: str) -> list[str]:
    """One line per shot: its source, and for a real picture its title, author and licence."""
    lines = []
    for shot in range(count):
        credit = credits.get(shot)
        lines.append(f"{shot + 1:>3}. " + (f"{credit.source}: {credit.title} — {credit.author} — {credit.licence}"
                                           if credit else f"painted ({painter})"))
    return lines


def contact_sheet(stills: list[Path], labels: list[str], font_file: Path, out: Path) -> Path:
    """A grid of the video's pictures, each with its number and source."""
    rows = (len(stills) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * TILE[0], rows * TILE[1]), (16, 16, 16))
    font = ImageFont.truetype(str(font_file), 22)
    for k, (still, label) in enumerate(zip(stills, labels)):
        x, y = (k % COLUMNS) * TILE[0], (k // COLUMNS) * TILE[1]
        try:
            with Image.open(still) as opened:
                sheet.paste(opened.convert("RGB").resize((TILE[0] - 4, TILE[1] - 4)), (x + 2, y + 2))
        except OSError:
            pass  # a still the cache no longer holds: its tile stays dark, its label says which
        ImageDraw.Draw(sheet).text((x + 10, y + 8), label, font=font, fill=(255, 255, 255), stroke_width=3,
                                   stroke_fill=(0, 0, 0))
    with translate_os_errors(str(out)):
        sheet.save(out, "JPEG", quality=85)
    return out


def _cmd_shots(args: argparse.Namespace, settings: Settings) -> int:
    folder = Path(args.folder)
    if not (folder / "job.json").is_file():
        raise InputError(f"{folder} is not a video's folder (no job.json)")
    manifest, script = read_manifest(folder), read_script(folder)
    credits = {credit.shot: credit for credit in script.credits}
    painter = manifest.backends.get("images", "").split("+")[-1] or "procedural"
    stills = [Path(path) for path in manifest.stills]
    print("\n".join(shot_lines(credits, len(stills), painter)))
    labels = [f"{k + 1} · {credits[k].source if k in credits else painter}" for k in range(len(stills))]
    sheet = contact_sheet(stills, labels, bold_font_dir(settings.data_dir) / BOLD_FILE, folder / SHEET_NAME)
    print(f"contact sheet: {sheet}")
    return 0


def add_shot_commands(commands: argparse._SubParsersAction) -> None:
    """`shots`."""
    shots = commands.add_parser("shots", help="each shot of a made video, its picture's source, and a contact sheet")
    shots.add_argument("folder", help="the video's folder (output/<slug>-<job>)")
    shots.set_defaults(handler=_cmd_shots)
