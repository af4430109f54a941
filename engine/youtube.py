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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from engine.cache import translate_os_errors
from engine.config import Settings
from engine.errors import BackendError, ConfigError, InputError

log = logging.getLogger(__name__)

DATA_SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"  # upload, captions, thumbnails, videos.list/update
REPORTS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"  # the Reporting API's reach reports
SCOPES = (DATA_SCOPE, REPORTS_SCOPE)
SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
PRIVATE_LOCK = ("YouTube made the video private: uploads through a Google Cloud project that YouTube has not audited "
                "are locked private (request an audit of the project, or make the video public in YouTube Studio)")
RETRIABLE_STATUS = (500, 502, 503, 504)
MAX_RETRIES = 8
TESTING_APP_DAYS = (6.0, 8.5)  # a refusal this many days after the consent is most likely the Testing app's 7 days
CHUNK_BYTES = 8 * 1024 * 1024  # a multiple of 256 KiB, as resumable uploads require
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded",
                 "uploadLimitExceeded"}
PRIVACY = ("private", "unlisted", "public")
SERVICES = (("youtube", "v3"), ("youtubereporting", "v1"))
REACH_REPORT = "channel_reach_basic_a1"  # the Reporting API's daily thumbnail impressions and click rate
# thumbnails.set's documented 403 for a channel that may not set custom thumbnails (developers.google.com/youtube/v3/
# docs/thumbnails/set, Errors): "The authenticated user doesn't have permissions to upload and set custom video thumbnails."
UNVERIFIED_THUMBNAILS = "permissions to upload and set custom video thumbnails"


class YouTubeError(BackendError):
    """YouTube refused or failed a request; `status` is the HTTP status where there was one."""

    status: int | None = None


class QuotaError(YouTubeError):
    """A YouTube quota is used up; the message says which and when it comes back."""


class AuthError(YouTubeError):
    """No usable YouTube authorisation: never given, revoked or expired, or without a scope it needs."""

    exit_code = 2


class ThumbnailRateLimited(YouTubeError):
    """thumbnails.set answered 429 (uploadRateLimitExceeded): too many thumbnails set lately; try again later."""


class ThumbnailsNotAllowed(YouTubeError):
    """thumbnails.set answered 403: the channel may not set custom thumbnails (it is not verified by phone)."""


def unseen_reason(status: VideoStatus) -> str:
    """Why nobody sees a video YouTube has but does not show, in one sentence."""
    if status.upload_status in ("failed", "rejected", "deleted"):
        return f"YouTube {status.upload_status} the video" + (f" ({status.why})" if status.why else "")
    if status.publish_at is not None:
        return f"the video is private until its publishing time, {status.publish_at:%Y-%m-%d %H:%M} UTC"
    return ("YouTube has the video private: uploads through a Google Cloud project that YouTube has not audited are "
            "locked private, sometimes only after the upload, and a video made private in YouTube Studio stays so; "
            "make it public in YouTube Studio (and request an audit of the project)")


def retriable(error: YouTubeError) -> bool:
    """Whether the same call may work later without anyone doing anything: a quota, a rate limit, YouTube's trouble."""
    if isinstance(error, AuthError):
        return False
    return isinstance(error, QuotaError | ThumbnailRateLimited) or error.status is None or error.status >= 500 \
        or error.status == 429


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
    synthetic_media: bool = True  # status.containsSyntheticMedia: generated pictures or voice


@dataclass(frozen=True)
class Uploaded:
    """What YouTube says it made of an upload: the video's ID and its privacy as YouTube set it."""

    video_id: str
    privacy: str


@dataclass(frozen=True)
class VideoStatus:
    """A video's status as YouTube has it now (videos.list part=status): its privacy may have changed since the upload."""

    privacy: str
    publish_at: datetime | None = None  # still scheduled: private until then
    upload_status: str = "processed"  # uploaded, processed, failed, rejected, deleted
    why: str = ""  # failureReason or rejectionReason, when YouTube gives one

    @property
    def seen(self) -> bool:
        """Whether people can see the video (and so its thumbnail) now."""
        return self.privacy in ("public", "unlisted") and self.upload_status not in ("failed", "rejected", "deleted")


@dataclass(frozen=True)
class VideoStats:
    """Public counters of a video at one moment."""

    views: int
    likes: int
    comments: int


@dataclass(frozen=True)
class ReportFile:
    """One reach report YouTube has made: its ID, when it was made, and where to download it."""

    id: str
    created: datetime
    url: str


def credentials_file(settings: Settings, channel: str | None = None) -> Path:
    """Where the YouTube authorisation is kept (owner-only permissions): one file per named channel."""
    if channel is None:
        return settings.data_dir / "youtube" / "credentials.json"
    return settings.data_dir / "youtube" / "channels" / f"{channel}.json"


def _auth_command(channel: str | None) -> str:
    return f"`videofactory youtube auth{f' --channel {channel}' if channel else ''}`"


def _save_credentials(settings: Settings, credentials, channel: str | None = None) -> None:
    path = credentials_file(settings, channel)
    with translate_os_errors(str(path.parent)):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(credentials.to_json())
        os.chmod(temporary, 0o600)
        temporary.replace(path)


def _flow(settings: Settings, client_secrets: Path | None = None):
    from google_auth_oauthlib.flow import InstalledAppFlow

    secrets = client_secrets or settings.youtube_client_secrets
    if secrets is None:
        raise ConfigError("VF_YOUTUBE_CLIENT_SECRETS is not set: download the OAuth client file (Desktop app) "
                          "from Google Cloud Console and point it there")
    try:
        return InstalledAppFlow.from_client_secrets_file(str(secrets), scopes=list(SCOPES))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot use the OAuth client file {secrets}: {error}") from None


def authorize(settings: Settings, console: bool, ask: Callable[[str], str] = input, channel: str | None = None,
              client_secrets: Path | None = None) -> Path:
    """Run Google's installed-app consent once and keep the credentials; `console` for a headless server.

    With `channel`, the credentials are that channel's own; `client_secrets` (else VF_YOUTUBE_CLIENT_SECRETS)
    names the OAuth client, so a channel may use its own Google Cloud project and so its own quota.
    """
    flow = _flow(settings, client_secrets)
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
    _save_credentials(settings, credentials, channel)
    given = authorised_file(settings, channel)
    with translate_os_errors(str(given.parent)):
        given.write_text(datetime.now(timezone.utc).isoformat())
    return credentials_file(settings, channel)


def authorised_file(settings: Settings, channel: str | None = None) -> Path:
    """When the consent behind the kept credentials was given (refreshes do not change it)."""
    return credentials_file(settings, channel).with_suffix(".authorised")


def _refused_message(settings: Settings, channel: str | None, error: Exception, now: datetime | None = None) -> str:
    """Why a refresh was refused, with the likely cause when it came about a week after the consent: Google ends
    the refresh tokens of an OAuth app in Testing after 7 days (developers.google.com/identity/protocols/oauth2,
    "Refresh token expiration"), and answers invalid_grant, as for a revoked one."""
    said = (f"YouTube access{f' of the channel {channel}' if channel else ''} was revoked or has expired: "
            f"run {_auth_command(channel)} again")
    try:
        given = datetime.fromisoformat(authorised_file(settings, channel).read_text().strip())
    except (OSError, ValueError):
        return said
    days = ((now or datetime.now(timezone.utc)) - given).total_seconds() / 86400
    if "invalid_grant" not in str(error) or not TESTING_APP_DAYS[0] <= days <= TESTING_APP_DAYS[1]:
        return said
    return (f"{said}. It ended {days:.0f} days after it was given ({given:%Y-%m-%d}): Google ends an OAuth app's "
            "authorisations after 7 days while the app is in Testing, so publish the app first (Google Cloud Console, "
            "OAuth consent screen, Publish app), or this comes back every week")


def verify_credentials(settings: Settings, channel: str | None = None) -> None:
    """Ask Google for a new access token now: an AuthError when the authorisation was revoked or has ended."""
    load_credentials(settings, channel, refresh=True)


def load_credentials(settings: Settings, channel: str | None = None, refresh: bool = False):
    """The saved authorisation (the channel's own, if named), refreshed and saved again when its access token
    expired (or `refresh` asks)."""
    from google.auth.exceptions import RefreshError, TransportError
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    path = credentials_file(settings, channel)
    if not path.is_file():
        raise AuthError(f"YouTube is not authorised yet{f' for the channel {channel}' if channel else ''}: "
                        f"run {_auth_command(channel)}")
    try:
        credentials = Credentials.from_authorized_user_file(str(path), list(SCOPES))
    except (ValueError, json.JSONDecodeError):
        raise AuthError(f"{path} is broken: run {_auth_command(channel)} again") from None
    if settings.google_token_uri:  # the library always sets Google's own endpoint when it reads the file
        expiry, credentials = credentials.expiry, credentials.with_token_uri(settings.google_token_uri)
        credentials.expiry = expiry  # the copy forgets it
    if refresh or not credentials.valid:
        try:
            credentials.refresh(Request())
        except RefreshError as error:
            raise AuthError(_refused_message(settings, channel, error)) from None
        except TransportError as error:
            log.info("refreshing the YouTube authorisation failed: %s", type(error).__name__)
            log.debug("%s", error)
            raise YouTubeError("cannot reach Google to refresh the YouTube authorisation; try again later") from None
        _save_credentials(settings, credentials, channel)
    return credentials


@dataclass
class YouTube:
    """The Data API (videos, captions, thumbnails, titles) and Reporting API (reach reports) of one channel."""

    data: object
    reporting: object
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def connect(cls, settings: Settings, http=None, channel: str | None = None) -> YouTube:
        """Services built from the shipped discovery documents, as `channel` (else the one authorisation);
        `http` replaces the network (tests)."""
        from googleapiclient.discovery import build

        if http is not None:
            return cls(*(build(name, version, http=http, static_discovery=True) for name, version in SERVICES))
        credentials = load_credentials(settings, channel)
        return cls(*(build(name, version, credentials=credentials, static_discovery=True, cache_discovery=False)
                     for name, version in SERVICES))

    def _execute(self, request, what: str, scope: str = DATA_SCOPE):
        """One request, retried with exponential backoff on 5xx and connection errors, as Google recommends."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                return request.execute(num_retries=0)
            except Exception as error:
                self._retry_or_raise(error, attempt, what, scope)
        raise AssertionError("unreachable")

    def _retry_or_raise(self, error: Exception, attempt: int, what: str, scope: str = DATA_SCOPE) -> None:
        """Sleep before the next try, or raise our own error."""
        import httplib2
        from googleapiclient.errors import HttpError, ResumableUploadError

        if isinstance(error, HttpError | ResumableUploadError):
            status = int(error.resp.status)
            if status in RETRIABLE_STATUS and attempt < MAX_RETRIES:
                self._back_off(attempt, what, f"HTTP {status}")
                return
            raise translate_http_error(error, what, scope) from None
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

    def upload(self, video: Path, meta: VideoMeta, progress: Callable[[float], None] = lambda share: None,
               now: datetime | None = None) -> Uploaded:
        """Upload a video by resumable videos.insert; its ID and the privacy YouTube gave it."""
        from googleapiclient.http import MediaFileUpload

        if meta.privacy not in PRIVACY:
            raise InputError(f"privacy is one of {', '.join(PRIVACY)}, not '{meta.privacy}'")
        status: dict[str, object] = {"privacyStatus": meta.privacy, "selfDeclaredMadeForKids": meta.made_for_kids,
                                     "containsSyntheticMedia": meta.synthetic_media}
        if meta.publish_at is not None:
            if meta.publish_at <= (now or datetime.now(timezone.utc)):
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
        # The privacy YouTube applied, not the one asked for: an unaudited project's uploads are locked private.
        return Uploaded(response["id"], str(response.get("status", {}).get("privacyStatus") or meta.privacy))

    def own_channel(self) -> tuple[str, str]:
        """The ID and title of the channel these credentials act for (channels.list with mine=true)."""
        answer = self._execute(self.data.channels().list(part="snippet", mine=True), "reading the channel")  # type: ignore[attr-defined]
        items = answer.get("items") or []
        if not items:
            raise AuthError("this Google account has no YouTube channel: create one, then authorise again")
        return str(items[0]["id"]), str(items[0].get("snippet", {}).get("title", ""))

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
        try:
            self._execute(self.data.thumbnails().set(videoId=video_id, media_body=media), "setting the thumbnail")  # type: ignore[attr-defined]
        except YouTubeError as error:
            # thumbnails.set documents two 403 `forbidden`s: the channel may not set custom thumbnails (not verified
            # by phone), or the video cannot take one (not properly authorised); other 403s name their own reason.
            if error.status == 403 and UNVERIFIED_THUMBNAILS in str(error).lower():
                raise _with_status(ThumbnailsNotAllowed(
                    "setting the thumbnail: this channel may not set custom thumbnails yet; verify it by phone at "
                    "https://www.youtube.com/verify (custom thumbnails can take 24 hours after that) and set the "
                    "thumbnail again"), 403) from None
            raise

    def video_facts(self, video_id: str) -> tuple[datetime, str]:
        """When the video was published and its privacy now (videos.list)."""
        answer = self._execute(self.data.videos().list(part="snippet,status", id=video_id), "reading the video")  # type: ignore[attr-defined]
        if not answer.get("items"):
            raise YouTubeError(f"YouTube has no video {video_id} (deleted, or on another channel)")
        item = answer["items"][0]
        return _timestamp(item["snippet"]["publishedAt"]), str(item["status"]["privacyStatus"])

    def video_status(self, video_id: str) -> VideoStatus:
        """The video's privacy and upload state now (videos.list part=status)."""
        answer = self._execute(self.data.videos().list(part="status", id=video_id), "reading the video's status")  # type: ignore[attr-defined]
        if not answer.get("items"):
            raise YouTubeError(f"YouTube has no video {video_id} (deleted, or on another channel)")
        status = answer["items"][0].get("status", {})
        at = status.get("publishAt")
        return VideoStatus(str(status.get("privacyStatus", "private")), _timestamp(at) if at else None,
                           str(status.get("uploadStatus", "processed")),
                           str(status.get("rejectionReason") or status.get("failureReason") or ""))

    def set_title(self, video_id: str, title: str) -> None:
        """Give the video a new title (videos.update), sending back the rest of its snippet unchanged.

        videos.update replaces the whole snippet: a field left out is cleared, so description, tags,
        category and languages go back as YouTube has them.
        """
        answer = self._execute(self.data.videos().list(part="snippet", id=video_id), "reading the video's snippet")  # type: ignore[attr-defined]
        if not answer.get("items"):
            raise YouTubeError(f"YouTube has no video {video_id} (deleted, or on another channel)")
        current = answer["items"][0].get("snippet", {})
        kept = ("description", "tags", "categoryId", "defaultLanguage", "defaultAudioLanguage")
        snippet = {key: current[key] for key in kept if key in current} | {"title": title}
        self._execute(self.data.videos().update(part="snippet", body={"id": video_id, "snippet": snippet}),  # type: ignore[attr-defined]
                      "setting the title")

    def stats(self, video_id: str) -> VideoStats:
        """The video's public counters now (videos.list)."""
        answer = self._execute(self.data.videos().list(part="statistics", id=video_id), "reading statistics")  # type: ignore[attr-defined]
        if not answer.get("items"):
            raise YouTubeError(f"YouTube has no video {video_id} (deleted, or on another channel)")
        numbers = answer["items"][0].get("statistics", {})
        return VideoStats(int(numbers.get("viewCount", 0)), int(numbers.get("likeCount", 0)),
                          int(numbers.get("commentCount", 0)))

    def reach_job(self) -> str:
        """The Reporting API job that makes the channel's daily reach reports (created once, at `youtube auth`)."""
        jobs = self._execute(self.reporting.jobs().list(), "listing reporting jobs", REPORTS_SCOPE)  # type: ignore[union-attr]
        for job in jobs.get("jobs", []):
            if job.get("reportTypeId") == REACH_REPORT:
                return job["id"]
        body = {"reportTypeId": REACH_REPORT, "name": "videofactory thumbnail reach"}
        return self._execute(self.reporting.jobs().create(body=body), "creating the reach report job",  # type: ignore[union-attr]
                             REPORTS_SCOPE)["id"]

    def reach_reports(self, job: str, created_after: datetime | None) -> list[ReportFile]:
        """The job's reports made after `created_after` (all of them for None), every page of the listing."""
        reports: list[ReportFile] = []
        page: str | None = None
        while True:
            options: dict[str, str] = {"jobId": job}
            if created_after is not None:
                options["createdAfter"] = created_after.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
            if page:
                options["pageToken"] = page
            listing = self._execute(self.reporting.jobs().reports().list(**options), "listing reach reports",  # type: ignore[union-attr]
                                    REPORTS_SCOPE)
            reports += [ReportFile(r["id"], _timestamp(r["createTime"]), r["downloadUrl"]) for r in listing.get("reports", [])]
            page = listing.get("nextPageToken")
            if not page:
                return reports

    def download_report(self, report: ReportFile) -> str:
        """A report's CSV text."""
        import io

        from googleapiclient.http import MediaIoBaseDownload

        request = self.reporting.media().download_media(resourceName="")  # type: ignore[union-attr]
        request.uri = report.url
        buffer = io.BytesIO()
        downloader, finished, attempt = MediaIoBaseDownload(buffer, request), False, 0
        while not finished:
            try:
                _, finished = downloader.next_chunk(num_retries=0)
            except Exception as error:  # noqa: BLE001 - sorted by _retry_or_raise
                self._retry_or_raise(error, attempt, "downloading a reach report", REPORTS_SCOPE)
                attempt += 1
        return buffer.getvalue().decode("utf-8")


def _timestamp(text: str) -> datetime:
    """An RFC 3339 time as the Reporting API writes it (2026-11-20T07:12:35.123456Z)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _payload(error) -> dict:
    try:
        payload = json.loads(error.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return {}
    details = payload.get("error", {}) if isinstance(payload, dict) else {}
    return details if isinstance(details, dict) else {}


def _reasons(error) -> list[str]:
    return [str(item.get("reason", "")) for item in _payload(error).get("errors", []) if isinstance(item, dict)]


def _google_message(error) -> str:
    """Google's own sentence for the error (the `message` of its JSON body), without server paths or tokens."""
    details = _payload(error)
    messages = [str(details.get("message", ""))] + [str(item.get("message", "")) for item in details.get("errors", [])
                                                     if isinstance(item, dict)]
    return " ".join(next((m for m in messages if m.strip()), "").split())[:300]


def quota_reset(now: datetime | None = None) -> datetime:
    """When the Data API's daily quota comes back: midnight, Pacific time."""
    pacific = ZoneInfo("America/Los_Angeles")
    local = (now or datetime.now(timezone.utc)).astimezone(pacific)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=pacific)


def translate_http_error(error, what: str, scope: str = DATA_SCOPE) -> YouTubeError:
    """Our error for a Google HttpError: quota explained, a missing scope or API named, the rest in one line."""
    status = int(error.resp.status)
    reasons = _reasons(error)
    quota = QUOTA_REASONS.intersection(reasons)
    if quota:
        return _with_status(_quota_error(min(quota), what), status)
    if "uploadRateLimitExceeded" in reasons or (status == 429 and "thumbnail" in what):
        return _with_status(ThumbnailRateLimited(f"{what}: YouTube limits how often thumbnails are set "
                                                 "(uploadRateLimitExceeded); trying again later"), status)
    if status == 401:
        return _with_status(AuthError(f"{what}: YouTube refused the authorisation: run `videofactory youtube auth` "
                                      "again"), status)
    if status == 403 and SCOPE_REASONS.intersection(reasons):
        return _with_status(AuthError(f"{what}: the authorisation lacks the scope {scope}; run `videofactory youtube "
                                      "auth` again and allow everything it asks for"), status)
    if status == 403 and "accessNotConfigured" in reasons:
        api = "YouTube Reporting API" if scope == REPORTS_SCOPE else "YouTube Data API v3"
        return _with_status(YouTubeError(f"{what}: the {api} is not enabled in your Google Cloud project; enable it "
                                         "under APIs & Services, then try again"), status)
    message = _google_message(error)
    if status == 403 and "forbidden" in reasons:
        message = message or "this account may not do that; is the video on the authorised channel?"
        return _with_status(YouTubeError(f"{what}: YouTube refused it (forbidden: {message})"), status)
    detail = f"{', '.join(r for r in reasons if r)}: {message}" if reasons and message else (message or (
        error.reason if hasattr(error, "reason") else ""))
    return _with_status(YouTubeError(f"{what}: YouTube answered HTTP {status}" + (f" ({detail})" if detail else "")),
                        status)


def _quota_error(reason: str, what: str) -> QuotaError:
    """The quota message, with today's figures."""
    if reason == "uploadLimitExceeded":
        return QuotaError(f"{what}: the channel has reached YouTube's limit of uploads for today; "
                          "it lifts within 24 hours of the first upload of the day")
    if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        return QuotaError(f"{what}: too many requests in a short time (per-minute quota); try again in a minute")
    hours = (quota_reset() - datetime.now(timezone.utc)).total_seconds() / 3600
    if what.startswith("uploading"):
        return QuotaError(f"{what}: the project's daily uploads are used up (videos.insert has its own allowance of "
                          f"100 calls a day since June 2026); it resets at midnight Pacific time, in {hours:.0f} h")
    return QuotaError(f"{what}: the YouTube Data API daily quota (10,000 units; a thumbnail or title switch costs 50, "
                      f"captions 400) is used up; it resets at midnight Pacific time, in {hours:.0f} h")


def _with_status(error: YouTubeError, status: int) -> YouTubeError:
    error.status = status
    return error
