"""The licence gate for pictures from archives and stock libraries: what may be used, and why.

Accepted: public domain, CC0, CC BY, and the stock libraries' own licences (Pexels, Pixabay);
CC BY-SA only where the preset allows it; never NC or ND, never "all rights reserved" or unknown.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TAGS = re.compile(r"<[^>]+>")


def plain(value: str) -> str:
    """Text of an HTML fragment (Commons' extmetadata values are HTML), entities decoded, spaces folded."""
    return " ".join(html.unescape(_TAGS.sub(" ", value or "")).split())


@dataclass(frozen=True)
class Verdict:
    """Whether a picture may be used, the licence as read, and the reason for the decision."""

    allowed: bool
    licence: str  # normalised: "public domain", "CC0", "CC BY 4.0", "CC BY-SA 3.0", "Pexels licence"…
    reason: str


def normalised(licence: str) -> str:
    """A licence name in one spelling: "cc-by-sa-4.0", "by-sa 4.0", "CC BY-SA 4.0" → "CC BY-SA 4.0"."""
    text = plain(licence).strip()
    lower = text.lower().replace("_", "-")
    if re.search(r"public\s*domain|\bpd\b|\bpdm\b|no known copyright|no restrictions", lower):
        return "public domain"
    if re.search(r"\bcc0\b|cc-zero", lower):
        return "CC0"
    found = re.search(r"(?:cc[\s-]*)?\b(by(?:[\s-]+(?:nc|nd|sa))*)(?:[\s-]+(\d(?:\.\d)?))?\b", lower)
    if found and ("cc" in lower or lower.startswith("by")):
        parts = re.split(r"[\s-]+", found.group(1).upper())
        return "CC " + "-".join(parts) + (f" {found.group(2)}" if found.group(2) else "")
    return text


def judge(licence: str, allow_share_alike: bool = False, library: str = "") -> Verdict:
    """The gate's decision on one licence string (`library`: a stock library's own licence, e.g. "pexels")."""
    if library:
        return Verdict(True, f"{library.capitalize()} licence", f"the {library.capitalize()} licence allows commercial use")
    name = normalised(licence)
    if not name:
        return Verdict(False, "unknown", "no licence is named: never used")
    if name in ("public domain", "CC0"):
        return Verdict(True, name, "public domain: free to use")
    if re.search(r"all rights reserved|©|copyright", name, re.IGNORECASE):
        return Verdict(False, name, "all rights reserved: never used")
    if not name.startswith("CC BY"):
        return Verdict(False, name, "a licence the gate does not know: never used")
    if "NC" in name.split()[1]:
        return Verdict(False, name, "non-commercial: never used on a monetised channel")
    if "ND" in name.split()[1]:
        return Verdict(False, name, "no derivatives: the picture is cropped and graded, so never used")
    if "SA" in name.split()[1]:
        allowed = allow_share_alike
        return Verdict(allowed, name, "share-alike: " + ("the preset allows it" if allowed else "the preset does not allow it"))
    return Verdict(True, name, "attribution: used, and credited")
