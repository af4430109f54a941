"""Real pictures from archives and stock libraries: each a source that searches and answers candidates.

Wikimedia Commons (the MediaWiki API), Openverse, NASA's Image and Video Library, Pexels and
Pixabay, each through `httpx` with a descriptive User-Agent (Wikimedia's policy asks for one with the
operator's contact: VF_CONTACT), 429 and 5xx retried with backoff. A source's vendor errors become SourceError here.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import httpx

from engine import __version__
from engine.errors import BackendError
from engine.licences import plain

log = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/videofactory/videofactory"
TIMEOUT = httpx.Timeout(20.0, connect=5.0)  # a machine offline is told in seconds, not minutes
ATTEMPTS = 3
RESULTS = 20
PEXELS_LICENCE = ("Pexels licence", "https://www.pexels.com/license/")  # photos and videos alike
PIXABAY_LICENCE = ("Pixabay licence", "https://pixabay.com/service/license-summary/")


class SourceError(BackendError):
    """A picture source that did not answer (network, 5xx or 429 after retries, an answer not as documented)."""


class SourceUnreachable(SourceError):
    """A picture source that cannot be connected to at all (offline, no DNS, refused): not worth a retry."""


@dataclass(frozen=True)
class Candidate:
    """One picture a source offers, with what the licence gate and the credits need."""

    source: str
    url: str  # the picture itself (scaled to about the frame where the source can)
    page: str  # where a person can see it and its licence
    title: str
    description: str
    author: str
    licence: str  # as the source states it
    licence_url: str
    width: int
    height: int
    library: str = ""  # "pexels" or "pixabay": the library's own licence
    seconds: float = 0.0  # a video clip's length; 0 for a picture
    attribution_required: bool = True  # Commons' AttributionRequired: false only where the source says so

    @property
    def footage(self) -> bool:
        """Whether this is a video clip rather than a picture."""
        return self.seconds > 0


class PictureSource(Protocol):
    """Something that searches pictures."""

    name: str

    def search(self, query: str) -> list[Candidate]:
        """Candidates for a query, best first as the source ranks them."""
        ...


def get_json(client: httpx.Client, url: str, params: dict[str, str], sleep: Callable[[float], None] = time.sleep,
             headers: dict[str, str] | None = None) -> object:
    """A JSON answer, 429 and 5xx retried with backoff; anything else wrong is a SourceError."""
    problem = ""
    for attempt in range(ATTEMPTS):
        try:
            answer = client.get(url, params=params, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            host = httpx.URL(url).host
            raise SourceUnreachable(f"{host} cannot be reached ({type(error).__name__})") from None
        except httpx.HTTPError as error:
            problem = type(error).__name__
        else:
            if answer.status_code == 429 or answer.status_code >= 500:
                problem = f"HTTP {answer.status_code}"
            elif answer.status_code >= 400:
                raise SourceError(f"{url} answered HTTP {answer.status_code}")
            else:
                try:
                    return answer.json()
                except ValueError:
                    raise SourceError(f"{url} answered something that is not JSON") from None
        if attempt + 1 < ATTEMPTS:
            sleep(min(8.0, 1.0 * 2**attempt))
    raise SourceError(f"{url}: {problem} after {ATTEMPTS} tries")


def user_agent(contact: str | None) -> str:
    """Our User-Agent: Wikimedia's User-Agent policy (meta.wikimedia.org/wiki/User-Agent_policy) asks every bot for
    a way to reach its operator, an address or a page, and may block one without it; VF_CONTACT gives it."""
    return f"VideoFactory/{__version__} ({PROJECT_URL}" + (f"; {contact.strip()}" if contact and contact.strip() else "") + ")"


def http_client(contact: str | None = None) -> httpx.Client:
    """The client every source uses: our User-Agent (with the operator's contact), a timeout, redirects followed."""
    # httpx logs each request's full URL at INFO: Pixabay's key travels in the query string.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
    return httpx.Client(headers={"User-Agent": user_agent(contact)}, timeout=TIMEOUT, follow_redirects=True)


def _meta(info: dict, key: str) -> str:
    return plain(str((info.get("extmetadata") or {}).get(key, {}).get("value", "")))


@dataclass
class CommonsSource:
    """Wikimedia Commons: files found by a search in the File namespace, with licence and author from extmetadata."""

    api: str
    client: httpx.Client
    width: int = 1920
    name: str = "commons"

    def search(self, query: str) -> list[Candidate]:
        """Up to RESULTS files for `query`."""
        answer = get_json(self.client, self.api, {
            "action": "query", "format": "json", "generator": "search", "gsrsearch": query, "gsrnamespace": "6",
            "gsrlimit": str(RESULTS), "prop": "imageinfo", "iiprop": "url|size|mime|extmetadata",
            "iiurlwidth": str(self.width)})
        pages = sorted(((answer or {}).get("query") or {}).get("pages", {}).values(), key=lambda p: p.get("index", 0))
        found = []
        for page in pages:
            info = (page.get("imageinfo") or [{}])[0]
            if not str(info.get("mime", "")).startswith("image/") or info.get("mime") == "image/svg+xml":
                continue
            # Commons' Restrictions (personality rights, trademarks, insignia…) are not copyright: a free licence
            # does not clear them, so such a picture is never used (Extension:CommonsMetadata's fields).
            restrictions = _meta(info, "Restrictions")
            if restrictions:
                log.info("commons: %s left out: restricted (%s)", page.get("title", "?"), restrictions)
                continue
            found.append(Candidate(
                self.name, info.get("thumburl") or info.get("url", ""), info.get("descriptionurl", ""),
                _meta(info, "ObjectName") or page.get("title", "").removeprefix("File:"),
                _meta(info, "ImageDescription"), _meta(info, "Artist") or _meta(info, "Credit"),
                _meta(info, "LicenseShortName") or _meta(info, "License"), _meta(info, "LicenseUrl"),
                int(info.get("width", 0)), int(info.get("height", 0)),
                attribution_required=_meta(info, "AttributionRequired").lower() != "false"))
        return found


@dataclass
class OpenverseSource:
    """Openverse: openly licensed images, asked only for those that allow commercial use and modification."""

    api: str
    client: httpx.Client
    name: str = "openverse"

    def search(self, query: str) -> list[Candidate]:
        """Up to RESULTS images for `query`."""
        answer = get_json(self.client, f"{self.api.rstrip('/')}/v1/images/", {
            "q": query, "license_type": "commercial,modification", "page_size": str(RESULTS)})
        found = []
        for item in (answer or {}).get("results", []):
            licence = f"CC {item.get('license', '').upper()} {item.get('license_version', '')}".strip()
            if item.get("license") in ("cc0", "pdm"):
                licence = "CC0" if item.get("license") == "cc0" else "public domain"
            tags = " ".join(tag.get("name", "") for tag in item.get("tags") or [])
            found.append(Candidate(
                self.name, item.get("url", ""), item.get("foreign_landing_url", ""), item.get("title") or "",
                tags, item.get("creator") or "", licence, item.get("license_url") or "",
                int(item.get("width") or 0), int(item.get("height") or 0)))
        return found


# Credits that are not NASA's own: other agencies and press agencies own their pictures (NASA's media usage
# guidelines, www.nasa.gov/nasa-brand-center/images-and-media: "third party" material is not NASA's to give).
_THIRD_PARTY = re.compile(r"\b(?:ESA|JAXA|CSA|Roscosmos|ISRO|DLR|CNES|Getty|AP Photo|Associated Press|Reuters|AFP|"
                          r"SpaceX|Boeing|Lockheed|Northrop|Blue Origin|Axiom|Courtesy)\b", re.IGNORECASE)
_CREDIT_LINE = re.compile(r"(?:image|photo)?\s*credits?\s*:\s*([^\n;]+)", re.IGNORECASE)
_RENDITIONS = ("~large.", "~medium.", "~orig.")  # the largest that is not the original (often a huge TIFF) first


def nasa_licence(credit: str, description: str) -> str:
    """An item's licence as the gate reads it: NASA's public domain, unless someone else is credited or owns it."""
    credited = " ".join([credit, *_CREDIT_LINE.findall(description)]).strip()
    if "©" in f"{credited} {description}" or "copyright" in f"{credited} {description}".lower():
        return f"not public domain: a copyright holder is named ({credited or 'in its description'})"
    if _THIRD_PARTY.search(credited):
        return f"not public domain: credited to {credited}, not NASA"
    return "public domain"


@dataclass
class NasaSource:
    """NASA's Image and Video Library: public domain unless the metadata credits someone else.

    The picture's address comes from the item's asset manifest (`GET /asset/{nasa_id}`, in the API's
    documentation at images.nasa.gov/docs), not from a guessed file name: not every item has every rendition.
    """

    api: str
    client: httpx.Client
    name: str = "nasa"

    def search(self, query: str) -> list[Candidate]:
        """Up to RESULTS images for `query`; the picture is the largest rendition below the original."""
        answer = get_json(self.client, f"{self.api.rstrip('/')}/search", {"q": query, "media_type": "image"})
        found = []
        for item in ((answer or {}).get("collection") or {}).get("items", [])[:RESULTS]:
            data = (item.get("data") or [{}])[0]
            credit = " ".join(str(data.get(key) or "") for key in ("photographer", "secondary_creator")).strip()
            licence = nasa_licence(credit, str(data.get("description", "")))
            url = self._rendition(str(data.get("nasa_id", ""))) if licence == "public domain" else ""
            if licence == "public domain" and not url:
                continue
            found.append(Candidate(
                self.name, url, f"https://images.nasa.gov/details/{data.get('nasa_id', '')}",
                data.get("title", ""), plain(data.get("description", "")), credit or f"NASA {data.get('center', '')}".strip(),
                licence, "https://www.nasa.gov/nasa-brand-center/images-and-media/" if licence == "public domain" else "",
                0, 0))
        return found

    def _rendition(self, nasa_id: str) -> str:
        """The address of the item's large rendition, read from its asset manifest; "" when it has no usable one."""
        try:
            manifest = get_json(self.client, f"{self.api.rstrip('/')}/asset/{quote(nasa_id)}", {})
        except SourceUnreachable:
            raise
        except SourceError as error:  # one item's manifest missing: that item is left out, not the search
            log.info("nasa: no asset manifest for %s (%s)", nasa_id, error)
            return ""
        files = [str(entry.get("href", "")) for entry in ((manifest or {}).get("collection") or {}).get("items", [])]
        pictures = [href for href in files if href.lower().endswith((".jpg", ".jpeg", ".png"))]
        for mark in _RENDITIONS:
            chosen = next((href for href in pictures if mark in href), None)
            if chosen:
                return chosen
        return ""


@dataclass
class PexelsSource:
    """Pexels photos (its own licence: free for commercial use); needs VF_PEXELS_KEY."""

    api: str
    client: httpx.Client
    key: str
    name: str = "pexels"

    def search(self, query: str) -> list[Candidate]:
        """Up to RESULTS landscape photos for `query`."""
        answer = get_json(self.client, f"{self.api.rstrip('/')}/v1/search",
                          {"query": query, "per_page": str(RESULTS), "orientation": "landscape"},
                          headers={"Authorization": self.key})
        return [Candidate(self.name, (p.get("src") or {}).get("large2x") or (p.get("src") or {}).get("original", ""),
                          p.get("url", ""), p.get("alt") or "", p.get("alt") or "", p.get("photographer", ""),
                          *PEXELS_LICENCE, int(p.get("width", 0)), int(p.get("height", 0)), library="pexels")
                for p in (answer or {}).get("photos", [])]


@dataclass
class PixabaySource:
    """Pixabay photos (the Pixabay Content Licence); needs VF_PIXABAY_KEY."""

    api: str
    client: httpx.Client
    key: str
    name: str = "pixabay"

    def search(self, query: str) -> list[Candidate]:
        """Up to RESULTS horizontal photos for `query`."""
        answer = get_json(self.client, f"{self.api.rstrip('/')}/api/", {
            "key": self.key, "q": query, "image_type": "photo", "orientation": "horizontal",
            "per_page": str(RESULTS), "safesearch": "true"})
        return [Candidate(self.name, hit.get("largeImageURL", ""), hit.get("pageURL", ""), hit.get("tags", ""),
                          hit.get("tags", ""), hit.get("user", ""), *PIXABAY_LICENCE, int(hit.get("imageWidth", 0)),
                          int(hit.get("imageHeight", 0)), library="pixabay")
                for hit in (answer or {}).get("hits", [])]


FOOTAGE_WIDTH = 1920  # the frame's: a bigger rendition is downloaded for nothing


def _rendition(files: list[tuple[int, int, str]]) -> tuple[int, int, str] | None:
    """The smallest (width, height, url) at least as wide as the frame, else the widest."""
    files = [f for f in files if f[2]]
    if not files:
        return None
    wide = [f for f in files if f[0] >= FOOTAGE_WIDTH]
    return min(wide) if wide else max(files)


def _slug_words(page: str) -> str:
    """"seal on the beach" from https://www.pexels.com/video/seal-on-the-beach-1526909/: Pexels videos have no title."""
    slug = page.rstrip("/").rsplit("/", 1)[-1]
    return " ".join(word for word in slug.split("-") if not word.isdigit())


@dataclass
class PexelsVideoSource:
    """Pexels videos (its own licence); needs VF_PEXELS_KEY. The rendition nearest the frame's width is used."""

    api: str
    client: httpx.Client
    key: str
    name: str = "pexels-video"

    def search(self, query: str) -> list[Candidate]:
        """Up to RESULTS landscape clips for `query`."""
        answer = get_json(self.client, f"{self.api.rstrip('/')}/videos/search",
                          {"query": query, "per_page": str(RESULTS), "orientation": "landscape"},
                          headers={"Authorization": self.key})
        found = []
        for video in (answer or {}).get("videos", []):
            chosen = _rendition([(int(f.get("width") or 0), int(f.get("height") or 0), f.get("link", ""))
                                 for f in video.get("video_files") or [] if f.get("file_type") == "video/mp4"])
            if chosen is None or not video.get("duration"):
                continue
            words, user = _slug_words(video.get("url", "")), video.get("user") or {}
            found.append(Candidate(self.name, chosen[2], video.get("url", ""), words, words, user.get("name", ""),
                                   *PEXELS_LICENCE, chosen[0], chosen[1], library="pexels",
                                   seconds=float(video["duration"])))
        return found


@dataclass
class PixabayVideoSource:
    """Pixabay videos (the Pixabay Content Licence); needs VF_PIXABAY_KEY."""

    api: str
    client: httpx.Client
    key: str
    name: str = "pixabay-video"

    def search(self, query: str) -> list[Candidate]:
        """Up to RESULTS films for `query` (animations left out: they rarely show what a documentary says)."""
        answer = get_json(self.client, f"{self.api.rstrip('/')}/api/videos/", {
            "key": self.key, "q": query, "video_type": "film", "per_page": str(RESULTS), "safesearch": "true"})
        found = []
        for hit in (answer or {}).get("hits", []):
            chosen = _rendition([(int(v.get("width") or 0), int(v.get("height") or 0), v.get("url", ""))
                                 for v in (hit.get("videos") or {}).values()])
            if chosen is None or not hit.get("duration"):
                continue
            found.append(Candidate(self.name, chosen[2], hit.get("pageURL", ""), hit.get("tags", ""), hit.get("tags", ""),
                                   hit.get("user", ""), *PIXABAY_LICENCE, chosen[0], chosen[1], library="pixabay",
                                   seconds=float(hit["duration"])))
        return found
