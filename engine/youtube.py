"""YouTube through google-api-python-client: OAuth, resumable uploads, captions, thumbnails, statistics.

Every Google error is translated here into our own (YouTubeError, QuotaError, AuthError); callers
never see an HttpError. Services are built from the discovery documents the client ships, so nothing
is fetched to build them, and tests hand in an `HttpMockSequence` as `http`.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from engine.cache import translate_os_errors
from engine.config import Settings
from engine.errors import BackendError, ConfigError, InputError

log = logging.getLogger(__name__)

SCOPES = (
    "https://www.googleapis.com/auth/youtube.force-ssl",  # upload, captions, thumbnails.set, videos.list
    "https://www.googleapis.com/auth/yt-analytics.readonly",  # thumbnail impressions and click rate
)
RETRIABLE_STATUS = (500, 502, 503, 504)
MAX_RETRIES = 8
CHUNK_BYTES = 8 * 1024 * 1024  # a multiple of 256 KiB, as resumable uploads require
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded",
                 "uploadLimitExceeded"}
PRIVACY = ("private", "unlisted", "public")
SERVICES = (("youtube", "v3"), ("youtubeAnalytics", "v2"), ("youtubereporting", "v1"))
REACH_REPORT = "channel_reach_basic_a1"  # the Reporting API's daily thumbnail impressions and click rate


class YouTubeError(BackendError):
    """YouTube refused or failed a request."""


class QuotaError(YouTubeError):
    """A YouTube quota is used up; the message says which and when it comes back."""


class AuthError(YouTubeError):
    """No usable YouTube authorisation: never given, revoked or expired."""

    exit_code = 2


@dataclass(frozen=True)
class VideoMeta:
    """What YouTube shows about a video: from the script and the preset."""

    title: str
    description: str
    tags: tuple[str, ...]
    category: str
    language: str
    privacy: str = "private"
    publish_at: datetime | None = None  # scheduled: private until then, public after
    made_for_kids: bool = False


@dataclass(frozen=True)
class VideoStats:
    """Public counters of a video at one moment."""

    views: int
    likes: int
    comments: int


@dataclass(frozen=True)
class ThumbnailMetrics:
    """Thumbnail impressions and click rate (0-1) over a period, from YouTube Analytics."""

    impressions: int
    click_rate: float


def credentials_file(settings: Settings) -> Path:
    """Where the YouTube authorisation is kept (owner-only permissions)."""
    return settings.data_dir / "youtube" / "credentials.json"


def _save_credentials(settings: Settings, credentials) -> None:
    path = credentials_file(settings)
    with translate_os_errors(str(path.parent)):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(credentials.to_json())
        os.chmod(temporary, 0o600)
        temporary.replace(path)


def _flow(settings: Settings):
    from google_auth_oauthlib.flow import InstalledAppFlow

    secrets = settings.youtube_client_secrets
    if secrets is None:
        raise ConfigError("VF_YOUTUBE_CLIENT_SECRETS is not set: download the OAuth client file (Desktop app) "
                          "from Google Cloud Console and point it there")
    try:
        return InstalledAppFlow.from_client_secrets_file(str(secrets), scopes=list(SCOPES))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot use the OAuth client file {secrets}: {error}") from None


def authorize(settings: Settings, console: bool, ask: Callable[[str], str] = input) -> Path:
    """Run Google's installed-app consent once and keep the credentials; `console` for a headless server."""
    flow = _flow(settings)
    if console:
        # No browser here: the user opens the link elsewhere; the browser then fails to load the
        # loopback address, and the address it shows carries the code.
        flow.redirect_uri = "http://localhost:1"
        url, _ = flow.authorization_url(prompt="consent", access_type="offline")
        answer = ask(f"Open this link in a browser, allow access, then paste the address it ends on:\n{url}\n> ").strip()
        try:
            if answer.startswith("http"):
                flow.fetch_token(authorization_response=answer.replace("http://", "https://", 1))
            else:
                flow.fetch_token(code=answer)
        except Exception as error:  # oauthlib raises many kinds; none may carry a secret into our message
            raise AuthError(f"Google did not accept that answer ({type(error).__name__}); run the command again") from None
        credentials = flow.credentials
    else:
        credentials = flow.run_local_server(port=0, prompt="consent", access_type="offline")
    _save_credentials(settings, credentials)
    return credentials_file(settings)


def load_credentials(settings: Settings):
    """The saved authorisation, refreshed (and saved again) when its access token has expired."""
    from google.auth.exceptions import RefreshError, TransportError
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    path = credentials_file(settings)
    if not path.is_file():
        raise AuthError("YouTube is not authorised yet: run `videofactory youtube auth`")
    try:
        credentials = Credentials.from_authorized_user_file(str(path), list(SCOPES))
    except (ValueError, json.JSONDecodeError):
        raise AuthError(f"{path} is broken: run `videofactory youtube auth` again") from None
    if settings.google_token_uri:  # the library always sets Google's own endpoint when it reads the file
        expiry, credentials = credentials.expiry, credentials.with_token_uri(settings.google_token_uri)
        credentials.expiry = expiry  # the copy forgets it
    if not credentials.valid:
        try:
            credentials.refresh(Request())
        except RefreshError:
            raise AuthError("YouTube access was revoked or has expired: run `videofactory youtube auth` again") from None
        except TransportError as error:
            log.info("refreshing the YouTube authorisation failed: %s", type(error).__name__)
            log.debug("%s", error)
            raise YouTubeError("cannot reach Google to refresh the YouTube authorisation; try again later") from None
        _save_credentials(settings, credentials)
    return credentials


@dataclass
class YouTube:
    """The Data API (videos, captions, thumbnails), Analytics and Reporting services of one channel."""

    data: object
    analytics: object
    reporting: object | None = None
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def connect(cls, settings: Settings, http=None) -> YouTube:
        """Services built from the shipped discovery documents; `http` replaces the network (tests)."""
        from googleapiclient.discovery import build

        if http is not None:
            return cls(*(build(name, version, http=http, static_discovery=True) for name, version in SERVICES))
        credentials = load_credentials(settings)
        return cls(*(build(name, version, credentials=credentials, static_discovery=True, cache_discovery=False)
                     for name, version in SERVICES))

    def _execute(self, request, what: str):
        """One request, retried with exponential backoff on 5xx and connection errors, as Google recommends."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                return request.execute(num_retries=0)
            except Exception as error:
                self._retry_or_raise(error, attempt, what)
        raise AssertionError("unreachable")

    def _retry_or_raise(self, error: Exception, attempt: int, what: str) -> None:
        """Sleep before the next try, or raise our own error."""
        import httplib2
        from googleapiclient.errors import HttpError, ResumableUploadError

        if isinstance(error, HttpError | ResumableUploadError):
            status = int(error.resp.status)
            if status in RETRIABLE_STATUS and attempt < MAX_RETRIES:
                self._back_off(attempt, what, f"HTTP {status}")
                return
            raise translate_http_error(error, what) from None
        if isinstance(error, httplib2.HttpLib2Error | ConnectionError | TimeoutError | OSError):
            if attempt < MAX_RETRIES:
                self._back_off(attempt, what, type(error).__name__)
                return
            raise YouTubeError(f"{what}: cannot reach YouTube ({type(error).__name__})") from None
        raise error

    def _back_off(self, attempt: int, what: str, why: str) -> None:
        wait = min(64.0, 2.0 ** attempt) + random.random()
        log.info("%s: %s, trying again in %.1f s", what, why, wait)
        self.sleep(wait)

    def upload(self, video: Path, meta: VideoMeta, progress: Callable[[float], None] = lambda share: None) -> str:
        """Upload a video by resumable videos.insert; its YouTube ID."""
        from googleapiclient.http import MediaFileUpload

        if meta.privacy not in PRIVACY:
            raise InputError(f"privacy is one of {', '.join(PRIVACY)}, not '{meta.privacy}'")
        status: dict[str, object] = {"privacyStatus": meta.privacy, "selfDeclaredMadeForKids": meta.made_for_kids}
        if meta.publish_at is not None:
            if meta.publish_at <= datetime.now(timezone.utc):
                raise InputError("the publishing time must be in the future")
            status = {**status, "privacyStatus": "private",  # YouTube requires private until publishAt
                      "publishAt": meta.publish_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}
        body = {
            "snippet": {"title": meta.title, "description": meta.description, "tags": list(meta.tags),
                        "categoryId": meta.category, "defaultLanguage": meta.language,
                        "defaultAudioLanguage": meta.language},
            "status": status,
        }
        media = MediaFileUpload(str(video), mimetype="video/mp4", chunksize=CHUNK_BYTES, resumable=True)
        request = self.data.videos().insert(part="snippet,status", body=body, media_body=media)  # type: ignore[attr-defined]
        response, attempt = None, 0
        while response is None:
            try:
                chunk, response = request.next_chunk(num_retries=0)
                attempt = 0
                if chunk is not None:
                    progress(chunk.progress())
            except Exception as error:
                self._retry_or_raise(error, attempt, f"uploading {video.name}")
                attempt += 1
        progress(1.0)
        if "id" not in response:
            raise YouTubeError(f"YouTube answered the upload of {video.name} without a video ID")
        return response["id"]

    def add_captions(self, video_id: str, srt: Path, language: str, name: str = "") -> str:
        """Upload a subtitle file as the video's captions track; the track's ID."""
        from googleapiclient.http import MediaFileUpload

        body = {"snippet": {"videoId": video_id, "language": language, "name": name, "isDraft": False}}
        media = MediaFileUpload(str(srt), mimetype="application/octet-stream", resumable=False)
        answer = self._execute(self.data.captions().insert(part="snippet", body=body, media_body=media), "captions")  # type: ignore[attr-defined]
        return answer["id"]

    def set_thumbnail(self, video_id: str, image: Path) -> None:
        """Make `image` the video's thumbnail (thumbnails.set)."""
        from googleapiclient.http import MediaFileUpload

        media = MediaFileUpload(str(image), mimetype="image/jpeg", resumable=False)
        self._execute(self.data.thumbnails().set(videoId=video_id, media_body=media), "setting the thumbnail")  # type: ignore[attr-defined]

    def stats(self, video_id: str) -> VideoStats:
        """The video's public counters now (videos.list)."""
        answer = self._execute(self.data.videos().list(part="statistics", id=video_id), "reading statistics")  # type: ignore[attr-defined]
        if not answer.get("items"):
            raise YouTubeError(f"YouTube has no video {video_id} (deleted, or on another channel)")
        numbers = answer["items"][0].get("statistics", {})
        return VideoStats(int(numbers.get("viewCount", 0)), int(numbers.get("likeCount", 0)),
                          int(numbers.get("commentCount", 0)))

    def thumbnail_metrics(self, video_id: str, start: date, end: date) -> ThumbnailMetrics | None:
        """Thumbnail impressions and click rate from YouTube Analytics, or None where the channel gets none."""
        from googleapiclient.errors import HttpError

        request = self.analytics.reports().query(  # type: ignore[attr-defined]
            ids="channel==MINE", startDate=start.isoformat(), endDate=end.isoformat(),
            metrics="videoThumbnailImpressions,videoThumbnailImpressionsClickRate", filters=f"video=={video_id}",
        )
        try:
            answer = request.execute(num_retries=0)
        except HttpError as error:
            if int(error.resp.status) in (400, 403) and not isinstance(translate_http_error(error, ""), QuotaError):
                log.info("thumbnail metrics are not available for this channel: HTTP %s", error.resp.status)
                return None
            raise translate_http_error(error, "reading thumbnail metrics") from None
        rows = answer.get("rows") or []
        if not rows or rows[0][0] is None:
            return None
        impressions, rate = rows[0][0], rows[0][1]
        return ThumbnailMetrics(int(impressions), float(rate) / 100.0)  # the API gives a percentage


    def reach_job(self) -> str:
        """The Reporting API job that produces the channel's daily reach reports (created once)."""
        jobs = self._execute(self.reporting.jobs().list(), "listing reporting jobs")  # type: ignore[union-attr]
        for job in jobs.get("jobs", []):
            if job.get("reportTypeId") == REACH_REPORT:
                return job["id"]
        body = {"reportTypeId": REACH_REPORT, "name": "videofactory thumbnail reach"}
        return self._execute(self.reporting.jobs().create(body=body), "creating the reach report job")["id"]  # type: ignore[union-attr]

    def reach_days(self, video_id: str, since: datetime) -> dict[date, ThumbnailMetrics]:
        """Thumbnail impressions and click rate per day from the reach reports made since `since`.

        These bulk reports arrive two or three days late and are the final figures, so they
        correct what the Analytics API said earlier.
        """
        import csv
        import io

        from googleapiclient.http import MediaIoBaseDownload

        job = self.reach_job()
        created_after = since.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        listing = self._execute(self.reporting.jobs().reports().list(jobId=job, createdAfter=created_after),  # type: ignore[union-attr]
                                "listing reach reports")
        shown: dict[date, float] = {}
        clicks: dict[date, float] = {}
        for report in listing.get("reports", []):
            request = self.reporting.media().download_media(resourceName="")  # type: ignore[union-attr]
            request.uri = report["downloadUrl"]
            buffer = io.BytesIO()
            downloader, finished, attempt = MediaIoBaseDownload(buffer, request), False, 0
            while not finished:
                try:
                    _, finished = downloader.next_chunk(num_retries=0)
                except Exception as error:  # noqa: BLE001 - sorted by _retry_or_raise
                    self._retry_or_raise(error, attempt, "downloading a reach report")
                    attempt += 1
            for row in csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8"))):
                if row.get("video_id") != video_id:
                    continue
                day = datetime.strptime(row["date"], "%Y%m%d").date()
                impressions = float(row.get("video_thumbnail_impressions") or 0)
                shown[day] = shown.get(day, 0.0) + impressions
                clicks[day] = clicks.get(day, 0.0) + impressions * float(row.get("video_thumbnail_impressions_ctr") or 0)
        return {day: ThumbnailMetrics(round(shown[day]), clicks[day] / shown[day] if shown[day] else 0.0)
                for day in shown}


def _reasons(error) -> list[str]:
    try:
        payload = json.loads(error.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return []
    details = payload.get("error", {}) if isinstance(payload, dict) else {}
    return [str(item.get("reason", "")) for item in details.get("errors", []) if isinstance(item, dict)]


def quota_reset(now: datetime | None = None) -> datetime:
    """When the Data API's daily quota comes back: midnight, Pacific time."""
    pacific = ZoneInfo("America/Los_Angeles")
    local = (now or datetime.now(timezone.utc)).astimezone(pacific)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=pacific)


def translate_http_error(error, what: str) -> YouTubeError:
    """Our error for a Google HttpError: quota explained, authorisation named, the rest in one line."""
    status = int(error.resp.status)
    reasons = _reasons(error)
    quota = QUOTA_REASONS.intersection(reasons)
    if quota:
        reason = min(quota)
        if reason == "uploadLimitExceeded":
            return QuotaError(f"{what}: the channel has reached YouTube's limit of uploads for today; "
                              "it lifts within 24 hours of the first upload of the day")
        if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
            return QuotaError(f"{what}: too many requests in a short time (per-minute quota); try again in a minute")
        hours = (quota_reset() - datetime.now(timezone.utc)).total_seconds() / 3600
        return QuotaError(f"{what}: the YouTube Data API daily quota (10,000 units; an upload costs 1,600) is used "
                          f"up; it resets at midnight Pacific time, in {hours:.0f} h")
    if status == 401:
        return AuthError(f"{what}: YouTube refused the authorisation: run `videofactory youtube auth` again")
    if status == 403 and "forbidden" in reasons:
        return YouTubeError(f"{what}: this account may not do that (is the video on the authorised channel?)")
    detail = error.reason if hasattr(error, "reason") else ""
    return YouTubeError(f"{what}: YouTube answered HTTP {status}" + (f" ({detail})" if detail else ""))
