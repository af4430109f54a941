"""YouTube through google-api-python-client's real stack: the shipped discovery documents, and
`HttpMockSequence` answering each request as Google does (errors included)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from engine.abtest import ABTester
from engine.config import load_settings
from engine.media import run_ffmpeg
from engine.publish import publish
from engine.store import Store
from engine.youtube import AuthError, QuotaError, VideoMeta, YouTube, YouTubeError
from tests.youtube_http import RecordingSequence

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
    with pytest.raises(QuotaError, match=r"daily quota \(10,000 units; an upload costs 1,600\).*midnight Pacific"):
        youtube.upload(finished / "video.mp4", VideoMeta("t", "d", (), "27", "en"))
    with pytest.raises(AuthError, match="videofactory youtube auth"):
        youtube.stats("vid123")
    assert waits == []  # neither is retried
    assert json.loads((finished / "job.json").read_text()).get("youtube") is None


def test_statistics_and_thumbnail_metrics_and_channels_without_them(tmp_path: Path):
    youtube, http, waits = _youtube(tmp_path, [
        ({"status": "502"}, "bad gateway"),
        _ok({"items": [{"id": "v", "statistics": {"viewCount": "1234", "likeCount": "56", "commentCount": "7"}}]}),
        _ok({"columnHeaders": [{"name": "videoThumbnailImpressions"}, {"name": "videoThumbnailImpressionsClickRate"}],
             "rows": [[2000, 6.5]]}),
        ({"status": "403"}, json.dumps({"error": {"code": 403, "errors": [{"reason": "forbidden"}]}})),
        _ok({"items": []}),
    ])
    stats = youtube.stats("v")
    assert (stats.views, stats.likes, stats.comments) == (1234, 56, 7) and len(waits) == 1
    metrics = youtube.thumbnail_metrics("v", date(2026, 11, 20), date(2026, 11, 21))
    assert metrics is not None and metrics.impressions == 2000 and metrics.click_rate == pytest.approx(0.065)
    query = http.sent[2][1]
    assert "youtubeanalytics.googleapis.com/v2/reports" in query and "filters=video%3D%3Dv" in query
    assert youtube.thumbnail_metrics("v", date(2026, 11, 20), date(2026, 11, 21)) is None  # no such data
    with pytest.raises(YouTubeError, match="has no video gone"):
        youtube.stats("gone")


def test_an_ab_test_sets_thumbnails_through_the_real_client(tmp_path: Path, finished: Path):
    views = iter([100, 160, 160, 300])
    no_metrics = ({"status": "403"}, json.dumps({"error": {"code": 403, "errors": [{"reason": "forbidden"}]}}))

    def stats() -> tuple[dict, str]:
        return _ok({"items": [{"id": "vid123", "statistics": {"viewCount": str(next(views))}}]})

    reach = ("date,channel_id,video_id,live_or_on_demand,subscribed_status,country_code,"
             "video_thumbnail_impressions,video_thumbnail_impressions_ctr\n"
             "20261124,UC1,vid123,on_demand,subscribed,US,300,0.05\n"
             "20261124,UC1,vid123,on_demand,not_subscribed,DE,100,0.09\n"
             "20261124,UC1,other,on_demand,subscribed,US,999,0.5\n")
    youtube, http, _ = _youtube(tmp_path, [
        _ok({}), stats(),  # start: variant 1 up, views noted
        no_metrics,  # 2 h later: Analytics has nothing for the channel...
        _ok({"jobs": []}), _ok({"id": "job-1", "reportTypeId": "channel_reach_basic_a1"}),  # ...the reach job is made
        _ok({"reports": [{"id": "r1", "downloadUrl": "https://youtubereporting.googleapis.com/v1/media/r1?alt=media"}]}),
        ({"status": "200"}, reach),  # ...and its report read
        stats(), _ok({}), stats(),  # close slot 1, variant 2 up
        stats(), _ok({}),  # stopped by hand with 3 as the winner
    ])
    store = Store(f"sqlite:///{tmp_path / 'ab.db'}")
    tester = ABTester(store, lambda: youtube, seed=1)
    began = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
    test = tester.start("vid123", finished, chat_id=5, now=began, slot_hours=2)
    assert tester.tick(began + timedelta(hours=2)) == []
    notice = tester.finish(tester.test(test.id), 3, began + timedelta(hours=3), "hand")
    uploads = [(uri, body) for method, uri, body in http.sent if "thumbnails/set" in uri]
    assert len(uploads) == 3
    assert all("videoId=vid123" in uri for uri, _ in uploads)
    # The JPEGs themselves went up: red, green, then the chosen blue.
    assert uploads[0][1] == (finished / "thumbnails" / "1.jpg").read_bytes()
    assert uploads[1][1] == (finished / "thumbnails" / "2.jpg").read_bytes()
    assert uploads[2][1] == (finished / "thumbnails" / "3.jpg").read_bytes()
    slots = tester.slots(test.id)
    assert [(s.variant, s.views_start, s.views_end) for s in slots] == [(1, 100, 160), (2, 160, 300)]
    assert notice.chat_id == 5 and "Thumbnail 3 is now the video's thumbnail (chosen by hand)" in notice.text
    created = next(body for method, uri, body in http.sent if method == "POST" and "/v1/jobs" in uri)
    assert json.loads(created)["reportTypeId"] == "channel_reach_basic_a1"
    [day] = tester.days(test.id)  # the reach report's figures for the video, summed over its rows
    assert (day.day, day.impressions) == (date(2026, 11, 24), 400)
    assert day.click_rate == pytest.approx((300 * 0.05 + 100 * 0.09) / 400)
