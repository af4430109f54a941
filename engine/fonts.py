"""The caption and thumbnail font: a static bold Noto Sans (Latin and Cyrillic) cut from the
variable font that fontpkg-noto-sans ships, because libass cannot pick a weight inside a
variable font and would otherwise draw regular-weight captions."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from engine.cache import atomic_write_bytes

FAMILY = "Noto Sans"
BOLD_FILE = "NotoSans-Bold.ttf"


def _variable_font() -> Path:
    import fontpkg_noto_sans

    folder = Path(fontpkg_noto_sans.__file__).parent / "files"
    return next(p for p in sorted(folder.glob("*.ttf")) if "Italic" not in p.name)


def bold_font_dir(data_dir: Path) -> Path:
    """A folder holding only the bold static font, made once and kept in the data dir."""
    folder = data_dir / "fonts"
    target = folder / BOLD_FILE
    if not target.is_file():
        from fontTools.ttLib import TTFont
        from fontTools.varLib.instancer import instantiateVariableFont

        font = instantiateVariableFont(TTFont(_variable_font()), {"wght": 700, "wdth": 100}, updateFontNames=True)
        buffer = BytesIO()
        font.save(buffer)
        atomic_write_bytes(target, buffer.getvalue())
    return folder
