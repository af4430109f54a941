"""Progress hooks: the pipeline reports through them and never prints on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class ProgressHook(Protocol):
    """Receives stage starts, advances and ends; the CLI draws bars, the bot edits a message."""

    def started(self, stage: str, total: float, unit: str) -> None:
        """A stage began; `total` items or seconds are to be done."""
        ...

    def advanced(self, stage: str, done: float) -> None:
        """`done` of the stage's total is now complete."""
        ...

    def finished(self, stage: str) -> None:
        """The stage ended."""
        ...

    def ready(self, kind: str, paths: tuple[Path, ...]) -> None:
        """Finished files ("thumbnails", "video", "export") can be handed over before the whole job ends."""
        ...


class SilentProgress:
    """Reports nothing: for library use and tests."""

    def started(self, stage: str, total: float, unit: str) -> None:
        """Ignore."""

    def advanced(self, stage: str, done: float) -> None:
        """Ignore."""

    def finished(self, stage: str) -> None:
        """Ignore."""

    def ready(self, kind: str, paths: tuple[Path, ...]) -> None:
        """Ignore."""
