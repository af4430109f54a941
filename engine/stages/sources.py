"""Real pictures for shots: each shot asks the chain of sources in order, through the licence gate, by relevance.

A shot's query is made of the names, places and dates its narration mentions and the subject of its
picture prompt, not the whole sentence. Candidates pass the licence gate, a minimum size and the
rule that no picture is used twice in a video, then are ranked against the shot by meaning (sentence
embeddings) or shared words (engine/stages/relevance.py); the best at or above the method's threshold
is used. A shot with nothing good enough goes to the next source; the painter (FLUX or procedural)
paints what no source could give.
Searches and pictures are cached by query and by URL, so a rerun works with the sources down.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
from PIL import Image, UnidentifiedImageError

from engine.cache import Cache, cache_key, file_digest, translate_os_errors
from engine.licences import credited, judge
from engine.text import without_angle_brackets
from engine.media import MediaError, probe, run_ffmpeg
from engine.models import Scene, Shot
from engine.presets import Preset
from engine.stages.images import SIZE, Still, finish_still, grade_filter
from engine.stock import Candidate, PictureSource, SourceError, SourceUnreachable
from engine.stages.relevance import STOP_WORDS, KeywordRelevance, PictureRanker, Relevance, ShotText, terms

log = logging.getLogger(__name__)

VERSION = 1
MIN_WIDTH = 1200  # narrower pictures look soft on a 1920-wide frame
FAILURES_BEFORE_SKIP = 2
MAX_SLOWDOWN = 1.6  # a clip shorter than its shot plays slower, down to this factor; shorter ones are not used

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
    footage: bool = False  # a video clip, not a picture
    url: str = ""  # the file itself: what a review's replacement avoids
    attribution_required: bool = True  # false only where the source says so (Commons' AttributionRequired)


def query_terms(narration: str, subject: str) -> str:
    """Names, places and dates from the narration, then the picture's subject: a search, not a sentence."""
    names = [re.sub(r"[^\w-]", "", word) for sentence in re.split(r"(?<=[.!?])\s+", narration)
             for word in sentence.split()[1:] if word[:1].isupper()]
    years = re.findall(r"\b(1[0-9]{3}|20[0-9]{2})\b", narration)
    picked = [n for n in names if n.lower() not in STOP_WORDS] + years[:1] + terms(subject)[:3]
    return " ".join(list(dict.fromkeys(term for term in picked if term))[:6])


def _subject(scene: Scene, preset: Preset) -> str:
    subject = scene.image_prompt
    for words in (preset.images.prompt_prefix, preset.images.prompt_suffix):
        subject = subject.replace(words, " ") if words else subject
    return " ".join(subject.split())


def shot_text(scene: Scene, preset: Preset, topic: str) -> ShotText:
    """What a shot is about, for the search (its query) and for ranking (its meaning)."""
    subject = _subject(scene, preset)
    return ShotText(query_terms(scene.narration, subject) or topic, f"{scene.narration} {subject}")


@dataclass
class SourceChain:
    """The chain's sources for one job: searches cached, a source that keeps failing skipped for the rest."""

    sources: list[PictureSource]
    cache: Cache
    allow_share_alike: bool
    client: httpx.Client
    relevance: Relevance = field(default_factory=KeywordRelevance)
    pictures: PictureRanker | None = None  # CLIP where available: orders each shot's shortlist by looking at it
    failures: dict[str, int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def search(self, source: PictureSource, query: str) -> list[Candidate]:
        """The source's candidates for a query, from the cache when it was asked before."""
        key = cache_key("sources.search", VERSION, {"source": source.name, "query": query})
        return self.cache.remember(key, list[Candidate], lambda folder: source.search(query))[0]

    def offers(self, source: PictureSource, query: str, topic: str) -> list[tuple[Candidate, str]]:
        """The source's candidates that pass the licence gate and the size, unused (the topic's when the query has none)."""
        for asked in dict.fromkeys((query, topic)):
            passed = []
            for candidate in self.search(source, asked):
                verdict = judge(candidate.licence, self.allow_share_alike, candidate.library)
                if verdict.allowed and candidate.url and not (0 < candidate.width < MIN_WIDTH):
                    passed.append((candidate, verdict.reason))
            if passed:
                return passed
        return []

    def usable(self, source: PictureSource) -> bool:
        """Whether the source has not failed too often in this job."""
        return self.failures.get(source.name, 0) < FAILURES_BEFORE_SKIP

    def download(self, candidate: Candidate) -> Path | None:
        """The picture or clip at the candidate's URL (cached by URL), or None when it is not big enough or not media."""
        key = cache_key("sources.file", VERSION, {"url": candidate.url})
        try:
            path = self.cache.remember(key, Path, lambda folder: self._fetch(candidate, folder / "picture"))[0]
        except SourceError as error:
            self.failed(candidate.source, error)
            return None
        return path if media_width(path, candidate.footage) >= MIN_WIDTH else None

    def _fetch(self, candidate: Candidate, out: Path) -> Path:
        url = candidate.url
        try:
            answer = self.client.get(url)
        except httpx.HTTPError as error:
            raise SourceError(f"cannot fetch {url}: {type(error).__name__}") from None
        if answer.status_code != 200:
            raise SourceError(f"{url} answered HTTP {answer.status_code}")
        with translate_os_errors(str(out)):
            out.write_bytes(answer.content)
        if not media_width(out, candidate.footage):
            out.unlink(missing_ok=True)
            raise SourceError(f"{url} is not a {'video' if candidate.footage else 'picture'}")
        return out

    def failed(self, name: str, error: SourceError) -> None:
        """One more failure of a source; at FAILURES_BEFORE_SKIP (at once if unreachable) it is skipped for the rest
        of the job, with one warning."""
        already = self.failures.get(name, 0)
        if isinstance(error, SourceUnreachable) and already < FAILURES_BEFORE_SKIP:
            self.failures[name] = FAILURES_BEFORE_SKIP
            log.warning("the picture source %s: %s, so it is skipped for this job (VF_IMAGE_SOURCES=none paints "
                        "every picture without asking)", name, error)
            return
        self.failures[name] = already + 1
        if self.failures[name] == FAILURES_BEFORE_SKIP:
            log.warning("the picture source %s keeps failing (%s): skipped for the rest of this job", name, error)


def media_width(path: Path, footage: bool) -> int:
    """The width of a picture, or of a clip's video stream; 0 when the file is neither."""
    if footage:
        try:
            info = probe(path)
        except MediaError:
            return 0
        return info.width or 0 if info.duration > 0 else 0
    try:
        with Image.open(path) as picture:
            picture.verify()
            return picture.width
    except (UnidentifiedImageError, OSError):
        return 0


def fits(candidate: Candidate, shot: Shot) -> bool:
    """A clip long enough for its shot (slowed at most by MAX_SLOWDOWN); any picture fits."""
    return not candidate.footage or candidate.seconds * MAX_SLOWDOWN >= shot.end - shot.start


def pick_pictures(shots: tuple[Shot, ...], scenes: dict[int, Scene], preset: Preset, topic: str, chain: SourceChain,
                  on_item: Callable[[bool], None] = lambda cached: None,
                  avoid: frozenset[str] = frozenset()) -> dict[int, tuple[Path, Credit]]:
    """A real picture for each shot the chain can serve, with its credit; the others are left to the painter.

    Source by source: the shots still without a picture search it, all their candidates are scored
    in one batch, and each shot, in order, takes its best unused candidate that fits. Pictures in
    `avoid` (replaced in a review) are picked as before, then only their shots pick again, among what
    no other shot uses: replacing one shot's picture changes no other shot.
    """
    first = _pick(shots, scenes, preset, topic, chain, on_item)
    kept = {shot: pick for shot, pick in first.items() if pick[1].url not in avoid}
    again = tuple(shot for shot in shots if shot.index in first and shot.index not in kept)
    if not again:
        return first
    chain.used = {credit.url for _, credit in kept.values()} | set(avoid)
    return dict(sorted((kept | _pick(again, scenes, preset, topic, chain, on_item)).items()))


def _pick(shots: tuple[Shot, ...], scenes: dict[int, Scene], preset: Preset, topic: str, chain: SourceChain,
          on_item: Callable[[bool], None]) -> dict[int, tuple[Path, Credit]]:
    picked: dict[int, tuple[Path, Credit]] = {}
    texts = {shot.index: shot_text(scenes[shot.scene], preset, topic) for shot in shots}
    by_index = {shot.index: shot for shot in shots}
    for source in chain.sources:
        waiting = [shot for shot in shots if shot.index not in picked]
        offers = _offers(chain, source, waiting, texts, topic)
        if not offers:
            continue
        scores = chain.relevance.scores([texts[s] for s in offers],
                                        [[f"{c.title}. {c.description}" for c, _ in found] for found in offers.values()])
        ranked = {index: [found[k] for score, k in sorted(zip(row, range(len(found))), reverse=True)
                          if score >= chain.relevance.threshold and fits(found[k][0], by_index[index])]
                  for (index, found), row in zip(offers.items(), scores)}
        looked = _looked_at(chain, ranked, texts)
        for index, fitting in ranked.items():
            taken = _take(chain, looked.get(index, []) + fitting)
            if taken is not None:
                candidate, reason, path = taken
                picked[index] = (path, Credit(index, candidate.source, candidate.title, candidate.author,
                                              credited(candidate.licence, candidate.library),
                                              candidate.licence_url, candidate.page, reason, candidate.footage,
                                              candidate.url, candidate.attribution_required))
                on_item(False)
    return picked


SHORTLIST = 3  # pictures per shot the image-text model looks at


def _looked_at(chain: SourceChain, ranked: dict[int, list[tuple[Candidate, str]]],
               texts: dict[int, ShotText]) -> dict[int, list[tuple[Candidate, str]]]:
    """Each shot's best few pictures (by their words) in the image-text model's order; {} without the model."""
    if chain.pictures is None:
        return {}
    shortlists: dict[int, list[tuple[Candidate, str, Path]]] = {}
    for index, fitting in ranked.items():
        listed = [(c, r, path) for c, r in fitting[:SHORTLIST * 2] if not c.footage and (path := chain.download(c))]
        if len(listed) > 1:
            shortlists[index] = listed[:SHORTLIST]
    if not shortlists:
        return {}
    orders = chain.pictures.order([texts[i].meaning for i in shortlists], [[p for _, _, p in s] for s in shortlists.values()])
    return {index: [(c, r) for _, (c, r, _) in sorted(zip(order, listed), key=lambda pair: -pair[0])]
            for (index, listed), order in zip(shortlists.items(), orders)}


def _take(chain: SourceChain, fitting: list[tuple[Candidate, str]]) -> tuple[Candidate, str, Path] | None:
    """The first of a shot's candidates, in order, that is unused and downloads as a big enough picture or clip."""
    for candidate, reason in fitting:
        if candidate.url in chain.used:
            continue
        path = chain.download(candidate)
        if path is not None:
            chain.used.add(candidate.url)
            return candidate, reason, path
    return None


def _offers(chain: SourceChain, source: PictureSource, shots: list[Shot], texts: dict[int, ShotText],
            topic: str) -> dict[int, list[tuple[Candidate, str]]]:
    """Each waiting shot's acceptable candidates from one source; a source that fails is counted, then skipped."""
    offers: dict[int, list[tuple[Candidate, str]]] = {}
    for shot in shots:
        if not chain.usable(source):
            break
        try:
            found = chain.offers(source, texts[shot.index].query, topic)
        except SourceError as error:
            chain.failed(source.name, error)
            continue
        if found:
            offers[shot.index] = found
    return offers


def finished_picture(shot: int, picture: Path, source: str, preset: Preset, cache: Cache,
                     on_item: Callable[[bool], None] = lambda cached: None) -> Still:
    """A fetched picture with the preset's look (fitted to the frame, graded), cached by its content and the look."""
    key = cache_key("sources.still", VERSION, {"picture": file_digest(picture), "effects": preset.effects.model_dump()})

    def compute(folder: Path) -> Still:
        out = folder / "still.png"
        with Image.open(picture) as opened, translate_os_errors(str(out)):
            opened.convert("RGB").save(out, "PNG", compress_level=1)
        finish_still(out, preset.effects, seed=shot)
        return Still(shot, out, source)

    still, cached = cache.remember(key, Still, compute)
    on_item(cached)
    return Still(shot, still.path, source)


def finished_footage(shot: int, clip: Path, seconds: float, fps: int, source: str, preset: Preset, cache: Cache,
                     on_item: Callable[[bool], None] = lambda cached: None) -> Still:
    """A fetched clip as a shot: `seconds` long (slowed if it is shorter), muted, cropped to the frame, graded.

    The frame's width and height, the frame rate and the look are fixed here, so the render only trims it.
    A poster frame beside it stands for the shot where a picture is needed (thumbnails, the contact sheet).
    """
    key = cache_key("sources.footage", VERSION, {"clip": file_digest(clip), "seconds": round(seconds, 3), "fps": fps,
                                                 "effects": preset.effects.model_dump()})

    def compute(folder: Path) -> Still:
        length = probe(clip).duration
        slower = max(1.0, seconds / length) if length > 0 else 1.0
        width, height = SIZE
        look = ",".join(filter(None, [
            f"setpts={slower:.4f}*(PTS-STARTPTS)", f"fps={fps}",
            f"scale={width}:{height}:force_original_aspect_ratio=increase", f"crop={width}:{height}", "setsar=1",
            grade_filter(preset.effects), f"tpad=stop_mode=clone:stop_duration={seconds:.3f}", "format=yuv420p"]))
        out, poster = folder / "clip.mp4", folder / "poster.png"
        run_ffmpeg(["-i", str(clip), "-an", "-vf", look, "-t", f"{seconds:.3f}", "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "18", "-g", str(fps), str(out)], what=f"the clip of shot {shot + 1}")
        run_ffmpeg(["-ss", f"{seconds / 2:.3f}", "-i", str(out), "-frames:v", "1", str(poster)],
                   what=f"a frame of shot {shot + 1}")
        return Still(shot, out, source, poster)

    still, cached = cache.remember(key, Still, compute)
    on_item(cached)
    return Still(shot, still.path, source, still.poster)


def credits_text(credits: list[Credit]) -> str:
    """credits.txt: one line per picture used, in the order they appear."""
    lines = [f"{n}. {c.title or 'Untitled'} — {c.author or 'unknown author'} — {c.licence}"
             f"{f' ({c.licence_url})' if c.licence_url else ''} — {c.page} [{c.source}, {'clip' if c.footage else 'shot'} {c.shot + 1}]"
             for n, c in enumerate(credits, 1)]
    return "Pictures used in this video\n\n" + "\n".join(lines) + "\n"


def credit_line(credit: Credit) -> str:
    """The small line shown on screen during the shot: "Author / Source, Licence"."""
    source = {"commons": "Wikimedia Commons", "openverse": "Openverse", "nasa": "NASA", "pexels": "Pexels",
              "pixabay": "Pixabay"}.get(credit.source, credit.source)
    return f"{credit.author or 'Unknown'} / {source}, {credit.licence}"


class Credited(Protocol):
    """What a credit line reads: a Credit here, or the CreditRecord script.json keeps of it."""

    source: str
    title: str
    author: str
    licence: str
    page: str


# CC BY 4.0 §3(a)(1)(B) asks to say that the work was modified: every picture is cropped and graded.
MODIFIED = "Pictures were cropped and colour-graded for this video."
CREDITS_BYTES = 3000  # what the credits may take of a YouTube description; chapters and the text keep the rest


def credit_lines(credits: Sequence[Credited]) -> list[str]:
    """The pictures' credits grouped by author: "Author: title (licence, page); …" (no < or >, which YouTube refuses)."""
    by_author: dict[str, list[str]] = {}
    for credit in credits:
        by_author.setdefault(credit.author or "Unknown author", []).append(
            f"{credit.title or 'untitled'} ({credit.licence}{', ' + credit.page if credit.page else ''})")
    return [without_angle_brackets(f"{author}: {'; '.join(works)}") for author, works in by_author.items()]


def credit_block(credits: Sequence[Credited]) -> str:
    """The description's credits: a line per author, then the note that the pictures were changed."""
    return "\n\nPictures:\n" + "\n".join(credit_lines(credits)) + "\n" + MODIFIED


def credits_fit(credits: Sequence[Credited]) -> bool:
    """Whether every picture's credit fits the description; when not, the render shows them at the video's end."""
    return len(credit_block(credits).encode("utf-8")) <= CREDITS_BYTES
