"""Real pictures for shots: each shot asks the chain of sources in order, through the licence gate, by relevance.

A shot's query is made of the names, places and dates its narration mentions and the subject of its
picture prompt, not the whole sentence. Candidates pass the licence gate, a minimum size and the
rule that no picture is used twice in a video, then are ranked by how many of the query's words
their title and description share; the best above RELEVANCE is used. A shot with nothing good enough
goes to the next source; the painter (FLUX or procedural) paints what no source could give.
Searches and pictures are cached by query and by URL, so a rerun works with the sources down.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError

from engine.cache import Cache, cache_key, file_digest, translate_os_errors
from engine.licences import judge
from engine.models import Scene, Shot
from engine.presets import Preset
from engine.stages.images import Still, finish_still
from engine.stock import Candidate, PictureSource, SourceError
from engine.text import split_words

log = logging.getLogger(__name__)

VERSION = 1
RELEVANCE = 0.34  # at least one word in three of the query, in the title or description
MIN_WIDTH = 1200  # narrower pictures look soft on a 1920-wide frame
FAILURES_BEFORE_SKIP = 2
_STOP = frozenset("""a an and are as at be been but by for from had has have he her his in into is it its of on or
our that the their them then there these they this those to was were what when where which while who will with
you your we us not no one two three about after before over under between through during than more most very
only also just some such""".split())


@dataclass(frozen=True)
class Credit:
    """Where a shot's picture came from and under which licence: for credits.txt and the description."""

    shot: int
    source: str
    title: str
    author: str
    licence: str
    licence_url: str
    page: str
    reason: str  # the licence gate's


def _terms(text: str) -> list[str]:
    return [w for w in (re.sub(r"[^\w-]", "", word).lower() for word in split_words(text)) if len(w) > 2 and w not in _STOP]


def shot_query(scene: Scene, preset: Preset, topic: str) -> str:
    """Names, places and dates from the narration, then the picture's subject: a search, not a sentence."""
    names = [re.sub(r"[^\w-]", "", word) for sentence in re.split(r"(?<=[.!?])\s+", scene.narration)
             for word in sentence.split()[1:] if word[:1].isupper()]
    years = re.findall(r"\b(1[0-9]{3}|20[0-9]{2})\b", scene.narration)
    subject = scene.image_prompt
    for words in (preset.images.prompt_prefix, preset.images.prompt_suffix):
        subject = subject.replace(words, " ")
    picked = [n for n in names if n.lower() not in _STOP] + years[:1] + _terms(subject)[:3]
    query = " ".join(dict.fromkeys(term for term in picked if term))
    return " ".join(query.split()[:6]) or topic


def relevance(query: str, candidate: Candidate) -> float:
    """The share of the query's words found in the candidate's title and description."""
    wanted = set(_terms(query))
    if not wanted:
        return 0.0
    said = set(_terms(f"{candidate.title} {candidate.description}"))
    return len(wanted & said) / len(wanted)


@dataclass
class SourceChain:
    """The chain's sources for one job: searches cached, a source that keeps failing skipped for the rest."""

    sources: list[PictureSource]
    cache: Cache
    allow_share_alike: bool
    client: httpx.Client
    failures: dict[str, int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def search(self, source: PictureSource, query: str) -> list[Candidate]:
        """The source's candidates for a query, from the cache when it was asked before."""
        key = cache_key("sources.search", VERSION, {"source": source.name, "query": query})
        return self.cache.remember(key, list[Candidate], lambda folder: source.search(query))[0]

    def pick(self, query: str, topic: str) -> tuple[Candidate, str, Path] | None:
        """The best acceptable picture for a shot from the first source that has one, downloaded."""
        for source in self.sources:
            if self.failures.get(source.name, 0) >= FAILURES_BEFORE_SKIP:
                continue
            try:
                found = self._best(source, query) or (self._best(source, topic) if topic != query else None)
            except SourceError as error:
                self._failed(source.name, error)
                continue
            if found is not None:
                return found
        return None

    def _best(self, source: PictureSource, query: str) -> tuple[Candidate, str, Path] | None:
        scored = []
        for candidate in self.search(source, query):
            verdict = judge(candidate.licence, self.allow_share_alike, candidate.library)
            if not verdict.allowed or candidate.url in self.used or not candidate.url:
                continue
            if 0 < candidate.width < MIN_WIDTH:
                continue
            score = relevance(query, candidate)
            if score >= RELEVANCE:
                scored.append((score, candidate, verdict.reason))
        for _, candidate, reason in sorted(scored, key=lambda item: -item[0]):
            picture = self.download(candidate)
            if picture is not None:
                self.used.add(candidate.url)
                return candidate, reason, picture
        return None

    def download(self, candidate: Candidate) -> Path | None:
        """The picture at the candidate's URL (cached by URL), or None when it is not a big enough image."""
        key = cache_key("sources.file", VERSION, {"url": candidate.url})
        try:
            path = self.cache.remember(key, Path, lambda folder: self._fetch(candidate.url, folder / "picture"))[0]
        except SourceError as error:
            self._failed(candidate.source, error)
            return None
        try:
            with Image.open(path) as picture:
                return path if picture.width >= MIN_WIDTH else None
        except (UnidentifiedImageError, OSError):
            return None

    def _fetch(self, url: str, out: Path) -> Path:
        try:
            answer = self.client.get(url)
        except httpx.HTTPError as error:
            raise SourceError(f"cannot fetch {url}: {type(error).__name__}") from None
        if answer.status_code != 200:
            raise SourceError(f"{url} answered HTTP {answer.status_code}")
        try:
            Image.open(io.BytesIO(answer.content)).verify()
        except (UnidentifiedImageError, OSError):
            raise SourceError(f"{url} is not a picture") from None
        with translate_os_errors(str(out)):
            out.write_bytes(answer.content)
        return out

    def _failed(self, name: str, error: SourceError) -> None:
        self.failures[name] = self.failures.get(name, 0) + 1
        if self.failures[name] == FAILURES_BEFORE_SKIP:
            log.warning("the picture source %s keeps failing (%s): skipped for the rest of this job", name, error)


def pick_pictures(shots: tuple[Shot, ...], scenes: dict[int, Scene], preset: Preset, topic: str, chain: SourceChain,
                  on_item: Callable[[bool], None] = lambda cached: None) -> dict[int, tuple[Path, Credit]]:
    """A real picture for each shot the chain can serve, with its credit; the others are left to the painter."""
    picked: dict[int, tuple[Path, Credit]] = {}
    for shot in shots:
        found = chain.pick(shot_query(scenes[shot.scene], preset, topic), topic)
        if found is None:
            continue
        candidate, reason, path = found
        picked[shot.index] = (path, Credit(shot.index, candidate.source, candidate.title, candidate.author,
                                           judge(candidate.licence, True, candidate.library).licence,
                                           candidate.licence_url, candidate.page, reason))
        on_item(False)
    return picked


def finished_picture(shot: int, picture: Path, source: str, preset: Preset, cache: Cache) -> Still:
    """A fetched picture with the preset's look (fitted to the frame, graded), cached by its content and the look."""
    key = cache_key("sources.still", VERSION, {"picture": file_digest(picture), "effects": preset.effects.model_dump()})

    def compute(folder: Path) -> Still:
        out = folder / "still.png"
        with Image.open(picture) as opened, translate_os_errors(str(out)):
            opened.convert("RGB").save(out, "PNG", compress_level=1)
        finish_still(out, preset.effects, seed=shot)
        return Still(shot, out, source)

    still = cache.remember(key, Still, compute)[0]
    return Still(shot, still.path, source)


def credits_text(credits: list[Credit]) -> str:
    """credits.txt: one line per picture used, in the order they appear."""
    lines = [f"{n}. {c.title or 'Untitled'} — {c.author or 'unknown author'} — {c.licence}"
             f"{f' ({c.licence_url})' if c.licence_url else ''} — {c.page} [{c.source}, shot {c.shot + 1}]"
             for n, c in enumerate(credits, 1)]
    return "Pictures used in this video\n\n" + "\n".join(lines) + "\n"


def credit_line(credit: Credit) -> str:
    """The small line shown on screen during the shot: "Author / Source, Licence"."""
    source = {"commons": "Wikimedia Commons", "openverse": "Openverse", "nasa": "NASA", "pexels": "Pexels",
              "pixabay": "Pixabay"}.get(credit.source, credit.source)
    return f"{credit.author or 'Unknown'} / {source}, {credit.licence}"
