"""A local server that answers like Wikimedia Commons' MediaWiki API, Openverse, NASA's image library, Pexels and Pixabay.

JSON shapes as each API documents them:
- Commons: `GET /w/api.php?action=query&generator=search&gsrnamespace=6&prop=imageinfo&iiprop=url|size|mime|extmetadata`
  answers `query.pages.{id}.{title, index, imageinfo[0].{url, thumburl, width, height, mime, descriptionurl,
  extmetadata.{ObjectName, ImageDescription, Artist, LicenseShortName, LicenseUrl, Restrictions,
  AttributionRequired}.value}}` (values are HTML; Restrictions and AttributionRequired as Extension:CommonsMetadata
  fills them: "personality|trademarked", "true"/"false");
- Openverse: `GET /v1/images/?q=` answers `results[].{title, url, creator, license, license_version, license_url,
  foreign_landing_url, width, height, tags[].name}`;
- NASA (images.nasa.gov/docs/images.nasa.gov_api_docs.pdf): `GET /search?q=&media_type=image` answers
  `collection.items[].{href, data[0].{title, description, nasa_id, center, photographer, secondary_creator},
  links[].{href, rel}}`; `GET /asset/{nasa_id}` answers the item's manifest, `collection.items[].href`, one per
  rendition it has (`~orig`, `~large`, `~medium`, `~small`, `~thumb`, and `metadata.json`): not every item has all.
- Pexels (`Authorization: KEY`): `GET /v1/search?query=` answers `photos[].{url, photographer, alt, width, height,
  src.{original, large2x}}`; `GET /videos/search?query=` answers `videos[].{url, duration, width, height, user.name,
  video_files[].{quality, file_type, width, height, link}}` (a video's title is only in its page URL's slug);
- Pixabay (`key=KEY`): `GET /api/?q=` answers `hits[].{pageURL, tags, user, largeImageURL, imageWidth, imageHeight}`;
  `GET /api/videos/?q=` answers `hits[].{pageURL, tags, user, duration, videos.{large, medium, small, tiny}.{url,
  width, height, size, thumbnail}}`.
A search matches the items that share a word with it. Pictures are JPEGs of each item's size, clips
H.264 MP4s of the item's size and length (a moving test pattern, generated once). A wrong key is
answered 401 (Pexels) or 400 (Pixabay). `down` makes every answer 503.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import imageio_ffmpeg

from PIL import Image


@dataclass(frozen=True)
class Item:
    """One picture an archive holds."""

    source: str  # commons, openverse, nasa, pexels, pixabay, pexels-video or pixabay-video
    name: str
    title: str
    description: str
    author: str
    licence: str  # as the API states it: "CC BY-SA 4.0" (Commons), "by-nc" (Openverse), "" for NASA
    width: int = 2400
    height: int = 1600
    seconds: float = 0.0  # a clip's length (the video sources)
    restrictions: str = ""  # Commons: "personality", "trademarked"…
    attribution_required: str = ""  # Commons: "true" or "false"; "" leaves the field out
    secondary_creator: str = ""  # NASA: a credit beside the photographer ("ESA/Hubble")
    renditions: tuple[str, ...] = ("orig", "large", "medium", "small", "thumb")  # NASA: what the manifest lists


@dataclass
class PictureServers:
    """The three archives on one local port."""

    items: list[Item] = field(default_factory=list)
    down: bool = False
    requests: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)  # each request's User-Agent
    url: str = ""
    key: str = "stock-key"
    clips: dict[str, bytes] = field(default_factory=dict)

    def start(self) -> str:
        """Serve on a free local port; the base URL."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self.url

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()

    def env(self) -> dict[str, str]:
        """What a `videofactory` process needs to use these servers."""
        return {"VF_COMMONS_API_URL": f"{self.url}/w/api.php", "VF_OPENVERSE_API_URL": self.url,
                "VF_NASA_API_URL": self.url, "VF_PEXELS_API_URL": self.url, "VF_PIXABAY_API_URL": self.url,
                "VF_PEXELS_KEY": self.key, "VF_PIXABAY_KEY": self.key}

    def matching(self, source: str, query: str) -> list[Item]:
        """The source's items sharing a word (of four letters or more) with the query."""
        words = {w.lower() for w in query.split() if len(w) >= 4}
        return [i for i in self.items if i.source == source
                and words & {w.lower().strip(".,") for w in f"{i.title} {i.description}".split()}]

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes, str]:
        """Status, body and content type for one request."""
        if path.startswith("/files/"):
            item = next(i for i in self.items if f"/{i.name}." in path or f"/{i.name}~" in path)
            return (200, self.clip(item), "video/mp4") if item.seconds else (200, _jpeg(item), "image/jpeg")
        if path in ("/v1/search", "/videos/search") and headers.get("authorization") != self.key:
            return 401, b'{"error": "Unauthorized"}', "application/json"
        if path.startswith("/api/") and query.get("key") != self.key:
            return 400, b"[ERROR 400] Invalid or missing API key", "text/plain"
        searches = {"/w/api.php": lambda: _commons(self, query.get("gsrsearch", "")),
                    "/v1/images/": lambda: _openverse(self, query.get("q", "")),
                    "/search": lambda: _nasa(self, query.get("q", "")),
                    "/v1/search": lambda: _pexels(self, query.get("query", "")),
                    "/videos/search": lambda: _pexels_videos(self, query.get("query", "")),
                    "/api/": lambda: _pixabay(self, query.get("q", "")),
                    "/api/videos/": lambda: _pixabay_videos(self, query.get("q", ""))}
        if path in searches:
            return 200, json.dumps(searches[path]()).encode(), "application/json"
        if path.startswith("/asset/"):
            status, manifest = _nasa_manifest(self, path.removeprefix("/asset/"))
            return status, json.dumps(manifest).encode(), "application/json"
        return 404, b"{}", "application/json"

    def clip(self, item: Item) -> bytes:
        """The item's clip as MP4 bytes: a moving test pattern of its size and length, made once."""
        if item.name not in self.clips:
            with tempfile.TemporaryDirectory() as folder:
                out = Path(folder) / "clip.mp4"
                subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                                f"testsrc2=size={item.width}x{item.height}:rate=25:duration={item.seconds}",
                                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)], check=True)
                self.clips[item.name] = out.read_bytes()
        return self.clips[item.name]


def _jpeg(item: Item) -> bytes:
    colour = hashlib.sha256(item.name.encode()).digest()[:3]
    buffer = io.BytesIO()
    Image.new("RGB", (item.width, item.height), tuple(colour)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _commons(servers: PictureServers, query: str) -> dict:
    pages = {}
    for index, item in enumerate(servers.matching("commons", query)):
        meta = {"ObjectName": item.title, "ImageDescription": f"<p>{item.description}</p>",
                "Artist": f'<a href="https://commons.wikimedia.org/wiki/User:{item.author}">{item.author}</a>',
                "LicenseShortName": item.licence, "LicenseUrl": "https://creativecommons.org/licenses/",
                "Restrictions": item.restrictions, "AttributionRequired": item.attribution_required}
        pages[str(1000 + index)] = {"pageid": 1000 + index, "ns": 6, "title": f"File:{item.name}.jpg", "index": index,
                                    "imageinfo": [{
                                        "url": f"{servers.url}/files/commons/{item.name}.jpg",
                                        "thumburl": f"{servers.url}/files/commons/{item.name}.jpg",
                                        "width": item.width, "height": item.height, "mime": "image/jpeg",
                                        "descriptionurl": f"https://commons.wikimedia.org/wiki/File:{item.name}.jpg",
                                        "extmetadata": {k: {"value": v, "source": "commons-desc-page"}
                                                        for k, v in meta.items() if v}}]}
    return {"batchcomplete": "", "query": {"pages": pages}} if pages else {"batchcomplete": ""}


def _openverse(servers: PictureServers, query: str) -> dict:
    results = []
    for item in servers.matching("openverse", query):
        licence, _, version = item.licence.partition(" ")
        results.append({"id": item.name, "title": item.title, "url": f"{servers.url}/files/openverse/{item.name}.jpg",
                        "creator": item.author, "license": licence, "license_version": version,
                        "license_url": f"https://creativecommons.org/licenses/{licence}/{version}/",
                        "foreign_landing_url": f"https://www.flickr.com/photos/{item.name}", "width": item.width,
                        "height": item.height, "tags": [{"name": word} for word in item.description.split()]})
    return {"result_count": len(results), "page_count": 1, "page_size": 20, "page": 1, "results": results}


def _nasa_manifest(servers: PictureServers, nasa_id: str) -> tuple[int, dict]:
    item = next((i for i in servers.items if i.source == "nasa" and i.name == nasa_id), None)
    if item is None:
        return 404, {"reason": "Not found"}
    files = [{"href": f"{servers.url}/files/nasa/{item.name}~{kind}.jpg"} for kind in item.renditions]
    files.append({"href": f"{servers.url}/files/nasa/{item.name}/metadata.json"})
    return 200, {"collection": {"version": "1.0", "href": f"{servers.url}/asset/{item.name}", "items": files}}


def _nasa(servers: PictureServers, query: str) -> dict:
    items = [{"href": f"{servers.url}/asset/{item.name}", "data": [{
        "title": item.title, "description": item.description, "nasa_id": item.name, "center": "JSC",
        "photographer": item.author, "secondary_creator": item.secondary_creator, "media_type": "image"}],
        "links": [{"href": f"{servers.url}/files/nasa/{item.name}~thumb.jpg", "rel": "preview", "render": "image"}]}
        for item in servers.matching("nasa", query)]
    return {"collection": {"version": "1.0", "items": items, "metadata": {"total_hits": len(items)}}}


def _pexels(servers: PictureServers, query: str) -> dict:
    photos = [{"id": k, "width": item.width, "height": item.height, "url": f"https://www.pexels.com/photo/{item.name}/",
               "photographer": item.author, "alt": f"{item.title} {item.description}",
               "src": {"original": f"{servers.url}/files/pexels/{item.name}.jpg",
                       "large2x": f"{servers.url}/files/pexels/{item.name}.jpg"}}
              for k, item in enumerate(servers.matching("pexels", query))]
    return {"page": 1, "per_page": 20, "photos": photos, "total_results": len(photos)}


def _pexels_videos(servers: PictureServers, query: str) -> dict:
    videos = [{"id": k, "width": item.width, "height": item.height, "duration": round(item.seconds),
               "url": f"https://www.pexels.com/video/{'-'.join(item.title.lower().split())}-{1000 + k}/",
               "image": f"{servers.url}/files/pexels/{item.name}~poster.jpg",
               "user": {"id": 7, "name": item.author, "url": f"https://www.pexels.com/@{item.author}"},
               "video_files": [{"id": 1, "quality": "sd", "file_type": "video/mp4", "width": 640, "height": 360,
                                "fps": 25, "link": f"{servers.url}/files/pexels/{item.name}.sd.mp4"},
                               {"id": 2, "quality": "hd", "file_type": "video/mp4", "width": item.width,
                                "height": item.height, "fps": 25, "link": f"{servers.url}/files/pexels/{item.name}.mp4"}]}
              for k, item in enumerate(servers.matching("pexels-video", query))]
    return {"page": 1, "per_page": 20, "videos": videos, "total_results": len(videos)}


def _pixabay(servers: PictureServers, query: str) -> dict:
    hits = [{"id": k, "pageURL": f"https://pixabay.com/photos/{item.name}/", "type": "photo", "tags": item.description,
             "largeImageURL": f"{servers.url}/files/pixabay/{item.name}.jpg", "imageWidth": item.width,
             "imageHeight": item.height, "user": item.author} for k, item in enumerate(servers.matching("pixabay", query))]
    return {"total": len(hits), "totalHits": len(hits), "hits": hits}


def _pixabay_videos(servers: PictureServers, query: str) -> dict:
    def rendition(item: Item, name: str, width: int, height: int) -> dict:
        return {"url": f"{servers.url}/files/pixabay/{item.name}.{name}.mp4", "width": width, "height": height,
                "size": 1000, "thumbnail": f"{servers.url}/files/pixabay/{item.name}~{name}.jpg"}

    hits = [{"id": k, "pageURL": f"https://pixabay.com/videos/id-{k}/", "type": "film", "tags": item.description,
             "duration": round(item.seconds), "user": item.author,
             "videos": {"large": rendition(item, "large", item.width, item.height),
                        "tiny": rendition(item, "tiny", 960, 540)}}
            for k, item in enumerate(servers.matching("pixabay-video", query))]
    return {"total": len(hits), "totalHits": len(hits), "hits": hits}


def _handler(servers: PictureServers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            servers.requests.append(self.path)
            servers.agents.append(self.headers.get("User-Agent", ""))
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, body, kind = ((503, b"{}", "application/json") if servers.down
                                  else servers.answer(url.path, query, headers))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
