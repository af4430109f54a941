"""An httplib2.Http stand-in that answers google-api-python-client the way YouTube does, by route:
resumable uploads in chunks, captions, thumbnails.set, statistics and the Reporting API (a reach job, no
reports yet); and a recording HttpMockSequence for answers given one by one."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

import httplib2
from googleapiclient.http import HttpMockSequence


class RecordingSequence(HttpMockSequence):
    """HttpMockSequence (google-api-python-client's own mock) that also keeps every request it answered."""

    def __init__(self, iterable) -> None:
        super().__init__(iterable)
        self.sent: list[tuple[str, str, bytes]] = []

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        data = body if isinstance(body, bytes) else (body or "").encode() if isinstance(body, str) else b""
        self.sent.append((method, uri, data))
        return super().request(uri, method, body, headers, redirections, connection_type)


@dataclass
class YouTubeHttp:
    """Records every request; `views` is what videos.list reports; `privacy` what YouTube makes of an upload."""

    views: int = 0
    privacy: str = "public"
    sent: list[tuple[str, str, int]] = field(default_factory=list)  # method, uri, body bytes
    lock: threading.Lock = field(default_factory=threading.Lock)
    uploaded: int = 0
    video_prefix: str = "yt-video"  # uploads get IDs yt-video-1, yt-video-2, …
    inserted: list[dict] = field(default_factory=list)  # each videos.insert's resource (snippet, status)
    channel: tuple[str, str] = ("UC-test", "Test channel")  # what channels.list?mine=true answers
    unauthorised: bool = False  # answer every request 401, as for a revoked authorisation

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        headers = headers or {}
        # A chunk of a file comes as a stream slice: its length is in the headers.
        size = len(body) if isinstance(body, bytes | str) else int(headers.get("Content-Length", headers.get("content-length", 0)))
        with self.lock:
            self.sent.append((method, uri, size))
        if self.unauthorised:
            error = {"error": {"code": 401, "message": "Invalid Credentials", "errors": [{"reason": "authError"}]}}
            return httplib2.Response({"status": "401"}), json.dumps(error).encode()
        if "uploadType=resumable" in uri:
            self.inserted.append(json.loads(body if isinstance(body, str | bytes) and body else "{}"))
            return httplib2.Response({"status": "200", "location": "https://upload.test/session"}), b""
        if uri.startswith("https://upload.test/session"):
            span = re.match(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", headers.get("Content-Range", "")))
            if span and int(span.group(2)) + 1 < int(span.group(3)):
                self.uploaded = int(span.group(2)) + 1
                return httplib2.Response({"status": "308", "range": f"0-{span.group(2)}"}), b""
            privacy = self.inserted[-1].get("status", {}).get("privacyStatus", self.privacy) if self.inserted else self.privacy
            return self._ok({"id": f"{self.video_prefix}-{len(self.inserted)}",
                             "status": {"privacyStatus": privacy if privacy == "private" else self.privacy}})
        if "/youtube/v3/channels" in uri:
            return self._ok({"items": [{"id": self.channel[0], "snippet": {"title": self.channel[1]}}]})
        if "/captions" in uri:
            return self._ok({"id": "caption-1"})
        if "/thumbnails/set" in uri:
            return self._ok({"items": []})
        if "/youtube/v3/videos" in uri and method == "GET":
            return self._ok({"items": [{"id": "yt-video-1", "statistics": {"viewCount": str(self.views)}}]})
        if "youtubereporting" in uri and "/reports" in uri:
            return self._ok({"reports": []})
        if "youtubereporting" in uri and "/v1/jobs" in uri:
            return self._ok({"jobs": [{"id": "job-1", "reportTypeId": "channel_reach_basic_a1"}]})
        return httplib2.Response({"status": "404"}), b"{}"

    @staticmethod
    def _ok(payload: object):
        return httplib2.Response({"status": "200"}), json.dumps(payload).encode()

    def routes(self) -> list[str]:
        """What was asked, as short names."""
        names = []
        for method, uri, _ in self.sent:
            for key, name in (("uploadType=resumable", "upload"), ("upload.test/session", "chunk"),
                              ("/captions", "captions"), ("/thumbnails/set", "thumbnail"),
                              ("/youtube/v3/videos", "stats"), ("youtubereporting", "reporting")):
                if key in uri:
                    names.append(name)
                    break
        return names
