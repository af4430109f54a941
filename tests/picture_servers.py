"""A local server that answers like Wikimedia Commons' MediaWiki API, Openverse and NASA's image library.

JSON shapes as each API documents them:
- Commons: `GET /w/api.php?action=query&generator=search&gsrnamespace=6&prop=imageinfo&iiprop=url|size|mime|extmetadata`
  answers `query.pages.{id}.{title, index, imageinfo[0].{url, thumburl, width, height, mime, descriptionurl,
  extmetadata.{ObjectName, ImageDescription, Artist, LicenseShortName, LicenseUrl}.value}}` (values are HTML);
- Openverse: `GET /v1/images/?q=` answers `results[].{title, url, creator, license, license_version, license_url,
  foreign_landing_url, width, height, tags[].name}`;
- NASA: `GET /search?q=&media_type=image` answers `collection.items[].{data[0].{title, description, nasa_id,
  center, photographer}, links[].{href, rel}}`, the picture at `…~thumb.jpg` / `…~large.jpg`.
A search matches the items that share a word with it. Pictures are JPEGs of each item's size. `down`
makes every answer 503.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image


@dataclass(frozen=True)
class Item:
    """One picture an archive holds."""

    source: str  # commons, openverse or nasa
    name: str
    title: str
    description: str
    author: str
    licence: str  # as the API states it: "CC BY-SA 4.0" (Commons), "by-nc" (Openverse), "" for NASA
    width: int = 2400
    height: int = 1600


@dataclass
class PictureServers:
    """The three archives on one local port."""

    items: list[Item] = field(default_factory=list)
    down: bool = False
    requests: list[str] = field(default_factory=list)
    url: str = ""

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
                "VF_NASA_API_URL": self.url}

    def matching(self, source: str, query: str) -> list[Item]:
        """The source's items sharing a word (of four letters or more) with the query."""
        words = {w.lower() for w in query.split() if len(w) >= 4}
        return [i for i in self.items if i.source == source
                and words & {w.lower().strip(".,") for w in f"{i.title} {i.description}".split()}]

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        """Status, body and content type for one request."""
        if path.startswith("/files/"):
            item = next(i for i in self.items if path.endswith(f"/{i.name}.jpg") or f"/{i.name}~" in path)
            return 200, _jpeg(item), "image/jpeg"
        if path == "/w/api.php":
            return 200, json.dumps(_commons(self, query.get("gsrsearch", ""))).encode(), "application/json"
        if path == "/v1/images/":
            return 200, json.dumps(_openverse(self, query.get("q", ""))).encode(), "application/json"
        if path == "/search":
            return 200, json.dumps(_nasa(self, query.get("q", ""))).encode(), "application/json"
        return 404, b"{}", "application/json"


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
                "LicenseShortName": item.licence, "LicenseUrl": "https://creativecommons.org/licenses/"}
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


def _nasa(servers: PictureServers, query: str) -> dict:
    items = [{"href": f"{servers.url}/asset/{item.name}", "data": [{
        "title": item.title, "description": item.description, "nasa_id": item.name, "center": "JSC",
        "photographer": item.author, "media_type": "image"}],
        "links": [{"href": f"{servers.url}/files/nasa/{item.name}~thumb.jpg", "rel": "preview", "render": "image"}]}
        for item in servers.matching("nasa", query)]
    return {"collection": {"version": "1.0", "items": items, "metadata": {"total_hits": len(items)}}}


def _handler(servers: PictureServers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            servers.requests.append(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            status, body, kind = (503, b"{}", "application/json") if servers.down else servers.answer(url.path, query)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
