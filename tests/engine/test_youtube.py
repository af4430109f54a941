"""YouTube through google-api-python-client's real stack: the shipped discovery documents, and
`HttpMockSequence` answering each request as Google does (errors included)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from engine.config import load_settings
from engine.media import run_ffmpeg
from engine.publish import publish
from engine.store import Store
from engine.youtube import (AuthError, QuotaError, ThumbnailRateLimited, ThumbnailsNotAllowed, VideoMeta, YouTube,
                            YouTubeError)
from tests.youtube_http import THUMBNAIL_REFUSALS, RecordingSequence

QUOTA = json.dumps({"error": {"code": 403, "message": "quota", "errors": [
    {"domain": "youtube.quota", "reason": "quotaExceeded", "message": "The request cannot be completed."}]}})


def _ok(payload: object) -> tuple[dict, str]:
    return {"status": "200"}, json.dumps(payload)


def _youtube(tmp_path: Path, answers: list) -> tuple[YouTube, RecordingSequence, list[float]]:
    http = RecordingSequence(answers)
    youtube = YouTube.connect(load_settings(data_dir=tmp_path / "data"), http=http)
    waits: list[float] = []
    youtube.sleep = waits.append  # the backoff's waits, recorded instead of slept
    return youtube, http, waits


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """A finished video's folder as the pipeline leaves it (small files made here)."""
    folder = tmp_path / "output" / "comets"
    (folder / "thumbnails").mkdir(parents=True)
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=1", "-f", "lavfi", "-i", "sine=d=1",
                "-c:v", "libx264", "-c:a", "aac", "-shortest", str(folder / "video.mp4")], what="test video")
    for k, colour in enumerate(("red", "green", "blue"), 1):
        Image.new("RGB", (1280, 720), colour).save(folder / "thumbnails" / f"{k}.jpg")
    (folder / "subtitles.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nComets are dirty snowballs.\n")
    (folder / "script.json").write_text(json.dumps({
        "title": "Comets <Explained>", "description": "Where comets come from.", "tags": ["comets", "space"],
        "language": "en", "scenes": [{"narration": "Comets are dirty snowballs."}]}))
    (folder / "job.json").write_text(json.dumps({"inputs": {"preset": "science", "topic": "Comets"}, "files": []}))
    return folder


def test_upload_retries_a_503_resumes_and_sends_the_script_metadata(tmp_path: Path, finished: Path):
    youtube, http, waits = _youtube(tmp_path, [
        ({"status": "200", "location": "https://upload.example/session/1"}, ""),
        ({"status": "503"}, "backend error"),
        ({"status": "308"}, ""),  # what Google says it has after the failure: nothing yet
        _ok({"id": "vid123", "status": {"privacyStatus": "private"}}),
        _ok({"id": "caption1"}),
        _ok({"kind": "youtube#thumbnailSetResponse", "items": []}),
    ])
    shares: list[float] = []
    at = datetime.now(timezone.utc) + timedelta(days=2)
    result = publish(finished, load_settings(data_dir=tmp_path / "data"), youtube, "public", at, shares.append)
    assert (result.video_id, result.url, result.captions_id) == ("vid123", "https://youtu.be/vid123", "caption1")
    # Y4: private until its time is the schedule, not YouTube's lock: no warning of one.
    assert result.privacy == "private" and result.scheduled and not result.locked_private
    method, uri, body = http.sent[0]
    assert method == "POST" and "uploadType=resumable" in uri and "part=snippet%2Cstatus" in uri
    sent = json.loads(body)
    assert sent["snippet"]["title"] == "Comets Explained" and sent["snippet"]["categoryId"] == "28"
    assert sent["snippet"]["tags"] == ["comets", "space"] and sent["snippet"]["defaultLanguage"] == "en"
    assert sent["status"]["privacyStatus"] == "private"  # scheduled: private until publishAt
    assert sent["status"]["publishAt"].endswith("Z") and sent["status"]["selfDeclaredMadeForKids"] is False
    assert len(waits) == 1 and 1 <= waits[0] < 2  # one backoff, then the upload went on
    assert shares[-1] == 1.0
    assert "captions" in http.sent[4][1] and b"Comets are dirty snowballs." in http.sent[4][2]
    assert "thumbnails/set" in http.sent[5][1] and "videoId=vid123" in http.sent[5][1]
    record = json.loads((finished / "job.json").read_text())
    assert record["youtube"]["video_id"] == "vid123" and record["youtube"]["captions_id"] == "caption1"
    with pytest.raises(Exception, match="already on YouTube: https://youtu.be/vid123"):
        publish(finished, load_settings(data_dir=tmp_path / "data"), youtube)


def test_a_spent_quota_is_explained_and_a_refused_authorisation_named(tmp_path: Path, finished: Path):
    youtube, _, waits = _youtube(tmp_path, [({"status": "403"}, QUOTA), ({"status": "401"}, '{"error": {}}')])
    with pytest.raises(QuotaError, match=r"daily uploads are used up \(videos.insert has its own allowance of 100 .*midnight Pacific"):
        youtube.upload(finished / "video.mp4", VideoMeta("t", "d", (), "27", "en"))
    with pytest.raises(AuthError, match="videofactory youtube auth"):
        youtube.stats("vid123")
    assert waits == []  # neither is retried
    assert json.loads((finished / "job.json").read_text()).get("youtube") is None


def test_statistics_a_missing_scope_and_an_api_not_enabled_are_named(tmp_path: Path):
    scope = json.dumps({"error": {"code": 403, "errors": [{"reason": "insufficientPermissions"}]}})
    disabled = json.dumps({"error": {"code": 403, "errors": [{"reason": "accessNotConfigured"}]}})
    youtube, _, waits = _youtube(tmp_path, [
        ({"status": "502"}, "bad gateway"),
        _ok({"items": [{"id": "v", "statistics": {"viewCount": "1234", "likeCount": "56", "commentCount": "7"}}]}),
        ({"status": "403"}, scope), ({"status": "403"}, disabled), _ok({"items": []}),
    ])
    stats = youtube.stats("v")
    assert (stats.views, stats.likes, stats.comments) == (1234, 56, 7) and len(waits) == 1
    with pytest.raises(AuthError, match="lacks the scope https://www.googleapis.com/auth/yt-analytics.readonly"):
        youtube.reach_job()
    with pytest.raises(YouTubeError, match="YouTube Reporting API is not enabled"):
        youtube.reach_job()
    with pytest.raises(YouTubeError, match="has no video gone"):
        youtube.stats("gone")


def _report(day: str, rows: list[tuple[str, int, float]]) -> str:
    """A channel_reach_basic_a1 report: its five columns (Reporting API, channel reports), a row per line given."""
    head = "date,channel_id,video_id,video_thumbnail_impressions,video_thumbnail_impressions_ctr\n"
    return head + "".join(f"{day},UC1,{video},{shown},{ctr}\n" for video, shown, ctr in rows)


def _listed(*reports: tuple[str, str], page: str | None = None) -> tuple[dict, str]:
    body = {"reports": [{"id": rid, "createTime": created, "downloadUrl": f"https://youtubereporting.googleapis.com/v1/media/{rid}?alt=media"}
                        for rid, created in reports]}
    return _ok(body | ({"nextPageToken": page} if page else {}))


def test_reach_reports_follow_pages_let_a_backfill_replace_its_day_and_are_read_once(tmp_path: Path):
    from engine.reach import ReachReports

    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    job = _ok({"jobs": [{"id": "job-1", "reportTypeId": "channel_reach_basic_a1"}]})
    youtube, http, _ = _youtube(tmp_path, [
        job,
        _listed(("r1", "2026-11-26T09:00:00Z"), page="p2"), _listed(("r2", "2026-11-27T09:00:00Z")),
        ({"status": "200"}, _report("20261124", [("vid", 300, 0.05), ("vid", 100, 0.09), ("other", 999, 0.5)])),
        ({"status": "200"}, _report("20261125", [("vid", 500, 0.04)])),
        job,  # a day later: a backfill of 24 November, and r1 and r2 listed again
        _listed(("r1", "2026-11-26T09:00:00Z"), ("r2", "2026-11-27T09:00:00Z"), ("r3", "2026-11-28T09:00:00Z")),
        ({"status": "200"}, _report("20261124", [("vid", 800, 0.06)])),
    ])
    reports = ReachReports(youtube, store)
    now = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
    assert reports.sync({"vid"}, now) == 2
    assert "pageToken=p2" in http.sent[2][1]  # the second page was asked for
    first = reports.days("vid", date(2026, 11, 20), date(2026, 11, 30))
    assert first[date(2026, 11, 24)].impressions == 400  # one report's rows summed
    assert first[date(2026, 11, 24)].clicks == pytest.approx(300 * 0.05 + 100 * 0.09)
    assert reports.sync({"vid"}, now + timedelta(minutes=20)) == 0  # within the hour: YouTube is not asked
    assert reports.sync({"vid"}, now + timedelta(days=1)) == 1  # only r3 is downloaded
    again = reports.days("vid", date(2026, 11, 20), date(2026, 11, 30))
    # The backfill replaced 24 November rather than adding to it (not 1,200 impressions); the 25th is untouched.
    assert (again[date(2026, 11, 24)].impressions, again[date(2026, 11, 24)].clicks) == (800, pytest.approx(48.0))
    assert again[date(2026, 11, 25)].impressions == 500
    downloads = [uri for _, uri, _ in http.sent if "/v1/media/" in uri]
    assert [uri.split("/media/")[1].split("?")[0] for uri in downloads] == ["r1", "r2", "r3"]
    assert "createdAfter=2026-11-24T09%3A00%3A00Z" in http.sent[6][1]  # listed from three days before the newest


def test_a_test_puts_up_thumbnails_and_titles_through_the_real_client(tmp_path: Path, finished: Path):
    snippet = {"title": "Old", "description": "Where comets come from.", "tags": ["comets"], "categoryId": "28",
               "defaultLanguage": "en", "channelId": "UC1", "publishedAt": "2026-11-20T10:00:00Z"}
    limited = THUMBNAIL_REFUSALS["rate"]
    youtube, http, _ = _youtube(tmp_path, [
        _ok({}), (dict(limited[0]), limited[1]), (dict(THUMBNAIL_REFUSALS["unverified"][0]),
                                                  THUMBNAIL_REFUSALS["unverified"][1]),
        _ok({"items": [{"id": "vid", "snippet": snippet}]}), _ok({"id": "vid"}),
    ])
    youtube.set_thumbnail("vid", finished / "thumbnails" / "2.jpg")
    with pytest.raises(ThumbnailRateLimited):
        youtube.set_thumbnail("vid", finished / "thumbnails" / "3.jpg")
    with pytest.raises(ThumbnailsNotAllowed, match="verify it by phone"):
        youtube.set_thumbnail("vid", finished / "thumbnails" / "3.jpg")
    youtube.set_title("vid", "Comets: the dirty snowballs")
    assert http.sent[0][2] == (finished / "thumbnails" / "2.jpg").read_bytes()  # the JPEG itself went up
    method, uri, body = http.sent[-1]
    assert method == "PUT" and "part=snippet" in uri
    sent = json.loads(body)["snippet"]
    # videos.update replaces the whole snippet: the description, tags and category go back with the new title.
    assert sent == {"title": "Comets: the dirty snowballs", "description": "Where comets come from.",
                    "tags": ["comets"], "categoryId": "28", "defaultLanguage": "en"}


@pytest.mark.parametrize(("refusal", "said"), [
    ("video", "The thumbnail can't be set for the specified video"),
    ("disabled", "the YouTube Data API v3 is not enabled"),
])
def test_a_thumbnail_refused_for_another_reason_says_that_reason_not_verify_by_phone(tmp_path: Path, finished: Path,
                                                                                    refusal: str, said: str):
    """Y3: thumbnails.set documents two 403 `forbidden`s, and a project without the API answers accessNotConfigured."""
    disabled = json.dumps({"error": {"code": 403, "message": "YouTube Data API v3 has not been used in project 1 before",
                                     "errors": [{"reason": "accessNotConfigured", "domain": "usageLimits"}]}}).encode()
    answer = ({"status": "403"}, disabled) if refusal == "disabled" else (
        dict(THUMBNAIL_REFUSALS[refusal][0]), THUMBNAIL_REFUSALS[refusal][1])
    youtube, _, _ = _youtube(tmp_path, [answer])
    with pytest.raises(YouTubeError) as raised:
        youtube.set_thumbnail("vid", finished / "thumbnails" / "2.jpg")
    assert said in str(raised.value) and "phone" not in str(raised.value)
    assert not isinstance(raised.value, ThumbnailsNotAllowed)


def test_an_upload_locked_private_is_reported_as_youtube_set_it(tmp_path: Path, finished: Path):
    youtube, _, _ = _youtube(tmp_path, [
        ({"status": "200", "location": "https://upload.example/session/1"}, ""),
        _ok({"id": "vid9", "status": {"privacyStatus": "private"}}), _ok({"id": "caption1"}), _ok({}),
    ])
    done = publish(finished, load_settings(data_dir=tmp_path / "data"), youtube, "public")
    assert done.privacy == "private" and done.requested == "public" and done.locked_private
    assert json.loads((finished / "job.json").read_text())["youtube"]["privacy"] == "private"


def test_a_report_row_that_does_not_read_is_left_out_with_a_warning_not_a_crash(caplog):
    """M1: one odd date must not stop every tick."""
    from engine.reach import parse_report

    text = _report("20261124", [("vid", 300, 0.05)]) + "2026-11-25,UC1,vid,500,0.04\n" + "20261126,UC1,vid,n/a,0.1\n"
    figures = parse_report(text, {"vid"})
    assert list(figures) == [("vid", date(2026, 11, 24))] and figures[("vid", date(2026, 11, 24))].impressions == 300
    assert "2 row(s) that do not read" in caplog.text


def test_each_channel_lists_its_reports_from_its_own_newest_not_another_channels(tmp_path: Path):
    """M2: a channel paused for a week still gets the reports made while it was paused."""
    from engine.reach import ReachReports

    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    history, _, _ = _youtube(tmp_path, [_ok({"jobs": [{"id": "job-h", "reportTypeId": "channel_reach_basic_a1"}]}),
                                        _listed(("h1", "2026-11-26T09:00:00Z")),
                                        ({"status": "200"}, _report("20261124", [("hist", 100, 0.05)]))])
    science, http, _ = _youtube(tmp_path, [
        _ok({"jobs": [{"id": "job-s", "reportTypeId": "channel_reach_basic_a1"}]}),
        _listed(("s1", "2026-11-10T09:00:00Z")), ({"status": "200"}, _report("20261108", [("sci", 50, 0.1)])),
        _ok({"jobs": [{"id": "job-s", "reportTypeId": "channel_reach_basic_a1"}]}),
        _listed(("s2", "2026-11-12T09:00:00Z")), ({"status": "200"}, _report("20261110", [("sci", 70, 0.1)]))])
    ReachReports(science, store).sync({"sci"}, datetime(2026, 11, 10, 12, tzinfo=timezone.utc))
    ReachReports(history, store).sync({"hist"}, datetime(2026, 11, 26, 12, tzinfo=timezone.utc))
    # Science was paused since the 10th; history read a report of the 26th meanwhile.
    assert ReachReports(science, store).sync({"sci"}, datetime(2026, 11, 27, 12, tzinfo=timezone.utc)) == 1
    listing = [uri for _, uri, _ in http.sent if "/reports" in uri][-1]
    assert "createdAfter=2026-11-07T09%3A00%3A00Z" in listing  # science's own newest less three days
