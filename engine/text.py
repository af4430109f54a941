"""Small text helpers shared by stages: sentences, words, slugs."""

from __future__ import annotations

import re
import unicodedata

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)]*\s+(?=[\"'«“(]?[\w])")
_TOKEN = re.compile(r"\S+")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences at terminal punctuation followed by a space."""
    text = " ".join(text.split())
    if not text:
        return []
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        parts.append(text[start : match.start()].strip() + text[match.start() : match.end()].strip())
        start = match.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def split_words(text: str) -> list[str]:
    """Whitespace-separated words, punctuation kept attached as written."""
    return _TOKEN.findall(text)


def normalise_word(word: str) -> str:
    """Lower-case letters and digits only, for comparing a heard word with a written one."""
    folded = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in folded if ch.isalnum())


def slugify(text: str, limit: int = 60) -> str:
    """A folder-safe name: ASCII letters, digits and dashes (Cyrillic transliterated loosely)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    if not ascii_text.strip():
        ascii_text = "".join(_CYRILLIC.get(ch, ch) for ch in text.lower())
        ascii_text = unicodedata.normalize("NFKD", ascii_text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "video"


_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),
        strict=True,
    )
)
_CYRILLIC["ъ"] = _CYRILLIC["ь"] = ""
