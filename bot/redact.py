"""What users may read: server paths out of every sentence that reaches a chat (the log keeps them whole)."""

from __future__ import annotations

import re
from pathlib import Path

# An absolute path: a slash, then path segments; it ends at a space, a quote or punctuation that ends a clause.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"«»,;]+/)+[^\s/'\"«»,;:]*")


def for_chat(text: object) -> str:
    """`text` with every absolute path replaced by its file name (a folder's name, for a folder)."""
    return _ABSOLUTE_PATH.sub(lambda match: Path(match.group(0).rstrip("/.")).name or "a file", str(text))


def in_output(path: Path, output_dir: Path) -> str:
    """A path as users may see it: relative to the output folder, or just its name."""
    try:
        return path.resolve().relative_to(output_dir.resolve()).as_posix()
    except ValueError:
        return path.name
