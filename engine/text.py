"""Small text helpers shared by stages: sentences, words, slugs."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)]*\s+(?=[\"'«“(]?[\w])")
_TOKEN = re.compile(r"\S+")


# A whole terminal escape sequence (ECMA-48): CSI ("ESC [" … final byte, as in "\x1b[31m"), OSC ("ESC ]" … BEL or
# ST), or a two-byte escape; stripping only the ESC left "[31m" in titles and folder names.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]")


def printable(text: str) -> str:
    """`text` without terminal escape sequences and control characters (ESC, BEL…), which must not reach titles,
    captions or subtitle files.

    Line breaks and tabs stay; so do the invisible format characters that join emoji and mark text direction.
    """
    return "".join(ch for ch in _ESCAPE.sub("", text) if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def without_angle_brackets(text: str) -> str:
    """`text` without < and >, which YouTube refuses in titles, descriptions and tags."""
    return text.replace("<", "").replace(">", "")


def has_words(text: str) -> bool:
    """Whether `text` has a letter or a digit to say."""
    return any(ch.isalnum() for ch in text)


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
    """A folder-safe name: lower-case ASCII letters, digits and dashes; any script transliterated."""
    from slugify import slugify as transliterated  # python-slugify, with text-unidecode's tables

    return transliterated(text, max_length=limit, word_boundary=True) or "video"


# An absolute path: a slash, then path segments; it ends at a space, a quote or punctuation that ends a clause.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"«»,;]+/)+[^\s/'\"«»,;:]*")


def without_paths(text: str) -> str:
    """`text` with every absolute path replaced by its file name (a folder's name, for a folder): what users may read."""
    return _ABSOLUTE_PATH.sub(lambda match: PurePosixPath(match.group(0).rstrip("/.")).name or "a file", text)
