"""An httplib2.Http stand-in that answers google-api-python-client the way YouTube does, by route:
resumable uploads in chunks, captions, thumbnails.set, statistics and the Reporting API (a reach job, no
reports yet); and a recording HttpMockSequence for answers given one by one.

Written from YouTube's documents, failures included:
- videos.insert (developers.google.com/youtube/v3/docs/videos/insert): `status.publishAt` "can only be set if the
  privacy status of the video is private"; the answer is the video resource with the status as YouTube set it.
- The video resource's status (developers.google.com/youtube/v3/docs/videos#status): `privacyStatus`,
  `uploadStatus`, `publishAt` (removed once the video is public), `failureReason`/`rejectionReason`. A video
  uploaded through an unaudited API project is locked private ("All videos uploaded via the videos.insert endpoint
  from unverified API projects created after 28 July 2020 will be restricted to private viewing mode"), and owners
  report the lock arriving after the upload's answer: `locks` keeps the insert's answer and turns the video
  private for every later videos.list.
- thumbnails.set (developers.google.com/youtube/v3/docs/thumbnails/set, Errors): 403 `forbidden` "The authenticated
  user doesn't have permissions to upload and set custom video thumbnails.", 403 `forbidden` "The thumbnail can't be
  set for the specified video…", 429 `uploadRateLimitExceeded`; `thumbnail_refusals` answers them in turn.
- Errors carry Google's JSON error body (developers.google.com/youtube/v3/docs/errors).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

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
    locks: bool = False  # the insert answers as asked; every later read finds the video locked private
    thumbnail_refusals: list[str] = field(default_factory=list)  # "unverified", "video" or "rate", one per call
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # when a publishAt comes
    statuses: dict[str, dict] = field(default_factory=dict)  # each video's status as YouTube keeps it

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
            asked = self.inserted[-1].get("status", {}) if self.inserted else {}
            privacy = asked.get("privacyStatus", self.privacy)
            status = {"privacyStatus": privacy if privacy == "private" else self.privacy, "uploadStatus": "uploaded"}
            if asked.get("publishAt") and privacy == "private":
                status["publishAt"] = asked["publishAt"]
            video_id = f"{self.video_prefix}-{len(self.inserted)}"
            self.statuses[video_id] = dict(status)
            return self._ok({"id": video_id, "status": status})
        if "/youtube/v3/channels" in uri:
            return self._ok({"items": [{"id": self.channel[0], "snippet": {"title": self.channel[1]}}]})
        if "/captions" in uri:
            return self._ok({"id": "caption-1"})
        if "/thumbnails/set" in uri:
            if self.thumbnail_refusals:
                return THUMBNAIL_REFUSALS[self.thumbnail_refusals.pop(0)]
            return self._ok({"items": []})
        if "/youtube/v3/videos" in uri and method == "GET" and "part=status" in uri:
            return self._ok({"items": [{"id": video_id, "status": self._status_now(video_id)}
                                       for video_id in re.findall(r"[?&]id=([^&]+)", uri) if video_id in self.statuses]})
        if "/youtube/v3/videos" in uri and method == "GET":
            return self._ok({"items": [{"id": "yt-video-1", "statistics": {"viewCount": str(self.views)}}]})
        if "youtubereporting" in uri and "/reports" in uri:
            return self._ok({"reports": []})
        if "youtubereporting" in uri and "/v1/jobs" in uri:
            return self._ok({"jobs": [{"id": "job-1", "reportTypeId": "channel_reach_basic_a1"}]})
        return httplib2.Response({"status": "404"}), b"{}"

    def _status_now(self, video_id: str) -> dict:
        """The video's status as videos.list reads it now: processed; public at its publishAt, unless locked."""
        status = self.statuses[video_id] | {"uploadStatus": "processed"}
        if self.locks:
            return {"privacyStatus": "private", "uploadStatus": "processed"}
        at = status.get("publishAt")
        if at and datetime.fromisoformat(at.replace("Z", "+00:00")) <= self.clock():
            status = {key: value for key, value in status.items() if key != "publishAt"} | {"privacyStatus": "public"}
        return status

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


def _google_error(status: int, reason: str, message: str) -> tuple[httplib2.Response, bytes]:
    body = {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": "youtube.thumbnail", "reason": reason}]}}
    return httplib2.Response({"status": str(status)}), json.dumps(body).encode()


THUMBNAIL_REFUSALS = {  # thumbnails.set's documented errors, as its reference lists them
    "unverified": _google_error(403, "forbidden", "The authenticated user doesn't have permissions to upload and set "
                                                  "custom video thumbnails."),
    "video": _google_error(403, "forbidden", "The thumbnail can't be set for the specified video. The request might "
                                             "not be properly authorized."),
    "rate": _google_error(429, "uploadRateLimitExceeded", "The user has exceeded the number of thumbnails they may "
                                                          "upload."),
}
