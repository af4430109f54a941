"""The licence gate for pictures from archives and stock libraries: what may be used, and why.

Accepted: public domain (worldwide or in the United States), CC0, CC BY, and the stock libraries' own
licences (Pexels, Pixabay); CC BY-SA only where the preset allows it. Never NC or ND, never "all rights
reserved", never a licence the gate cannot read. The licence strings are read as the archives write
them (Commons' LicenseShortName, Openverse's codes, NASA's credits): short and long spellings alike
("CC BY-SA 4.0", "Creative Commons Attribution-Share Alike 4.0 International", "Attribution 4.0"),
and negations ("Not public domain in the US") are read as negations. A phrase that only sounds free,
Flickr's "No known copyright restrictions", is not a licence and is not taken for one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TAGS = re.compile(r"<[^>]+>")
# Words of the long spellings, in the order they are folded into the short ones.
_LONG_WORDS = (
    (r"creative\s*commons", "cc"), (r"non[\s-]*commercial", "nc"), (r"no[\s-]*deriv(?:ative)?s?", "nd"),
    (r"share[\s-]*alike", "sa"), (r"attribution", "by"), (r"\b(?:international|unported|generic|license|licence)\b", ""),
)
_NEGATED_PD = re.compile(r"\bnot\b[^.;]{0,40}public\s*domain|public\s*domain[^.;]{0,20}\bnot\b|\bnon[\s-]*public\s*domain")
_PD = re.compile(r"public\s*domain|\bpd\b|\bpdm\b|\bpd-")
_PD_ONE_COUNTRY = re.compile(r"public\s*domain\s+in\s+(?:the\s+)?([a-z][a-z .]+)", re.IGNORECASE)
_NO_KNOWN = re.compile(r"^no\s+restrictions$|no\s+known\s+(?:copyright\s+)?restrictions")  # Flickr Commons' phrase
_US = ("united states", "us", "usa", "u.s.", "u.s", "u.s.a.")
_PD_TEMPLATES_WORLDWIDE = ("pd-us", "pd-usgov", "pd-old", "pd-self", "pd-author", "pd-ineligible", "pd-textlogo",
                           "pd-shape", "pd-simple", "pd-art", "pd-scan", "pd-1923", "pd-1996")
# A rights holder named: "© ESA", "Copyright Getty Images" (not "copyright expired", nor "copyrighted free use").
_RIGHTS_RESERVED = re.compile(r"all\s+rights\s+reserved|©|\(c\)|\bcopyright(?:ed)?\b(?!\s+(?:has\s+)?expired)(?!\s+free)")
_CC_BY = re.compile(r"\bby((?:[\s-]+(?:nc|nd|sa))*)(?:[\s-]+v?(\d(?:\.\d)?))?\b")


def plain(value: str) -> str:
    """Text of an HTML fragment (Commons' extmetadata values are HTML), entities decoded, spaces folded."""
    return " ".join(html.unescape(_TAGS.sub(" ", value or "")).split())


@dataclass(frozen=True)
class Verdict:
    """Whether a picture may be used, the licence as read, and the reason for the decision."""

    allowed: bool
    licence: str  # normalised: "public domain", "CC0", "CC BY 4.0", "CC BY-SA 3.0", "Pexels licence"…
    reason: str


def _folded(lower: str) -> str:
    for pattern, short in _LONG_WORDS:
        lower = re.sub(pattern, short, lower)
    return " ".join(lower.split())


def _cc_name(lower: str) -> str | None:
    """"CC BY-SA 4.0" from any spelling of a Creative Commons attribution licence; None if it is none."""
    folded = _folded(lower.replace("_", "-"))
    found = _CC_BY.search(folded)
    # "by" alone is a word of any sentence ("photo by …"): a licence names Creative Commons or a version.
    if not found or not ("cc" in folded or (folded.startswith("by") and found.group(2))):
        return None
    parts = [part.upper() for part in re.split(r"[\s-]+", found.group(1)) if part]
    return "CC " + "-".join(["BY", *parts]) + (f" {found.group(2)}" if found.group(2) else "")


def _public_domain(text: str) -> str | None:
    """None for a worldwide or US public-domain statement; the reason to refuse a narrower one."""
    country = _PD_ONE_COUNTRY.search(text)
    where = country.group(1).strip(" .") if country else ""
    if country and where.lower() not in _US and not where.lower().startswith(("all ", "worldwide")):
        return f"public domain in {where} only, perhaps not where the video is watched: never used"
    template = re.search(r"\bpd-[a-z0-9-]+", text.lower())
    if template and not template.group(0).startswith(_PD_TEMPLATES_WORLDWIDE):
        return f"{template.group(0)}: public domain in one country only, perhaps not in the US: never used"
    return None


def normalised(licence: str) -> str:
    """A licence name in one spelling: "cc-by-sa-4.0", "Attribution-ShareAlike 4.0" → "CC BY-SA 4.0"."""
    text = plain(licence).strip()
    lower = text.lower()
    if _NEGATED_PD.search(lower) or _NO_KNOWN.search(lower):
        return text
    if re.search(r"\bcc0\b|cc-zero|\bcc\s*zero\b|creative\s*commons\s*zero", lower):
        return "CC0"
    if _PD.search(lower) and not _RIGHTS_RESERVED.search(lower):
        return "public domain"
    return _cc_name(lower) or text


def judge(licence: str, allow_share_alike: bool = False, library: str = "") -> Verdict:
    """The gate's decision on one licence string (`library`: a stock library's own licence, e.g. "pexels")."""
    if library:
        return Verdict(True, f"{library.capitalize()} licence", f"the {library.capitalize()} licence allows commercial use")
    text = plain(licence).strip()
    lower = text.lower()
    if not text:
        return Verdict(False, "unknown", "no licence is named: never used")
    if _NEGATED_PD.search(lower):
        return Verdict(False, text, "the source says it is not in the public domain: never used")
    if _NO_KNOWN.search(lower):
        return Verdict(False, text, "'no known restrictions' is an archive's belief, not a licence: never used")
    name = normalised(text)
    if name == "public domain":
        narrower = _public_domain(text)
        return Verdict(narrower is None, name, narrower or "public domain: free to use")
    if name == "CC0":
        return Verdict(True, name, "public domain: free to use")
    if not name.startswith("CC BY"):
        if _RIGHTS_RESERVED.search(lower):
            return Verdict(False, name, "all rights reserved: never used")
        return Verdict(False, name, "a licence the gate does not know: never used")
    terms = name.split()[1]
    if "NC" in terms:
        return Verdict(False, name, "non-commercial: never used on a monetised channel")
    if "ND" in terms:
        return Verdict(False, name, "no derivatives: the picture is cropped and graded, so never used")
    if "SA" in terms:
        return Verdict(allow_share_alike, name,
                       "share-alike: " + ("the preset allows it" if allow_share_alike else "the preset does not allow it"))
    return Verdict(True, name, "attribution: used, and credited")


def credited(licence: str, library: str = "") -> str:
    """The licence as a credit names it: the gate's name, and the source's own words where they say more."""
    name = judge(licence, True, library).licence
    stated = plain(licence).strip()
    if not stated or library or " ".join(stated.lower().split()) == name.lower():
        return name
    return f"{name} (as the source states: {stated})"
