"""What users may read: server paths out of every sentence that reaches a chat (the log keeps them whole)."""

from __future__ import annotations

from pathlib import Path

from engine.text import without_paths


def for_chat(text: object) -> str:
    """`text` with every absolute path replaced by its file name (a folder's name, for a folder)."""
    return without_paths(str(text))


def in_output(path: Path, output_dir: Path) -> str:
    """A path as users may see it: relative to the output folder, or just its name."""
    try:
        return path.resolve().relative_to(output_dir.resolve()).as_posix()
    except ValueError:
        return path.name
