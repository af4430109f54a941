"""Every page and action over HTTP: the overview, jobs (theirs only), making a video, A/B tests, tokens, downloads."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from engine.jobs import JobState, Origin
from engine.models import JobRequest
from engine.tables import ABDay, ABTest, HFAccount, ReachDay, StageRun, TokenLedger
from engine.tokens import Token
from tests.web.conftest import OTHER, USER, csrf, log_in
from engine.web_logins import download_link

SECRET_TOKEN = "hf_webwebwebwebwebweb4242"


def _job(services, chat: int | None, state: JobState = JobState.DONE, topic: str = "Lighthouses"):
    job = services.runner.submit(JobRequest(topic=topic, preset="science"), Origin("web", chat))
    now = datetime.now(timezone.utc)
    row = services.jobs.get(int(job.id))
    row.state, row.finished, row.video_seconds = str(state), now, 12.5
    services.store.add(row)  # written as it is: the runner's state machine is not under test here
    folder = Path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "video.mp4").write_bytes(b"\0\0\0\x18ftypmp42")
    (folder / "video.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    (folder / "thumbnails").mkdir(exist_ok=True)
    (folder / "thumbnails" / "1.jpg").write_bytes(b"\xff\xd8\xff")
    services.store.add(StageRun(job_id=job.id, stage="render", started=now - timedelta(seconds=9), finished=now,
                                outcome="done", items_total=2, items_computed=2))
    return services.jobs.get(int(job.id))


def test_the_overview_draws_its_charts_from_the_database(client, services):
    _job(services, USER)
    log_in(client, services, USER)
    page = client.get("/?days=30").text
    assert "Your videos: the last 30 days" in page and "1 video made" in page
    for chart in ("chart-days", "chart-presets", "chart-stages", "chart-images"):
        assert f'id="{chart}"' in page
    assert '"render"' in page  # the stage's bar is in the chart's data
    assert client.get("/static/plotly.min.js").headers["content-type"].startswith("text/javascript")


def test_a_user_sees_and_acts_on_their_own_jobs_only(client, services):
    mine, theirs = _job(services, USER), _job(services, OTHER, topic="Shipwrecks")
    log_in(client, services, USER)
    listed = client.get("/jobs").text
    assert "Lighthouses" in listed and "Shipwrecks" not in listed
    assert f'src="/jobs/{mine.id}/files/thumbnails/1.jpg"' in listed  # each finished job with its thumbnail
    page = client.get(f"/jobs/{mine.id}").text
    assert f'src="/jobs/{mine.id}/files/video.mp4"' in page and "video.srt" in page and "render" in page
    assert client.get(f"/jobs/{mine.id}/files/video.srt").text.startswith("1\n")
    for path in (f"/jobs/{theirs.id}", f"/jobs/{theirs.id}/files/video.mp4", f"/jobs/{mine.id}/files/..%2F..%2Fx"):
        assert client.get(path).status_code == 404
    progress = client.get(f"/jobs/progress.json?ids={mine.id},{theirs.id}").json()
    assert [row["id"] for row in progress] == [mine.id] and progress[0]["share"] == 1.0
    token = csrf(client, "/jobs")
    assert client.post(f"/jobs/{theirs.id}/cancel", data={"csrf": token}).status_code == 404
    assert services.runner.cancelled == []


def test_an_admin_sees_every_chats_jobs(client, services):
    _job(services, USER)
    _job(services, OTHER, topic="Shipwrecks")
    log_in(client, services, None)
    listed = client.get("/jobs").text
    assert "Lighthouses" in listed and "Shipwrecks" in listed


def test_cancel_and_retry(client, services):
    waiting = _job(services, USER, JobState.QUEUED)
    failed = _job(services, USER, JobState.FAILED, topic="Comets")
    log_in(client, services, USER)
    token = csrf(client, "/jobs")
    assert client.post(f"/jobs/{waiting.id}/cancel", data={"csrf": token}).status_code == 303
    assert services.runner.cancelled == [waiting.id]
    again = client.post(f"/jobs/{failed.id}/retry", data={"csrf": token})
    assert again.status_code == 303
    new_id = int(again.headers["location"].rsplit("/", 1)[1])
    made = services.jobs.get(new_id)
    assert made.topic == "Comets" and made.chat_id == USER and made.state == JobState.QUEUED
    assert client.post(f"/jobs/{new_id}/retry", data={"csrf": token}).status_code == 403  # a queued job is not retried


def test_the_form_submits_a_job_like_the_bot_does(client, services, tmp_path):
    log_in(client, services, USER)
    form = client.get("/make").text
    assert 'name="preset"' in form and "military-history" in form
    script = "The lighthouse stood alone.\n\nEvery night its keeper climbed the stairs."
    answer = client.post(f"/make?csrf={csrf(client, '/make')}", data={
                             "topic": "Keepers", "preset": "science", "length": "short", "language": "",
                             "captions": "karaoke"},
                         files={"script_file": ("keepers.txt", script.encode(), "text/plain")})
    assert answer.status_code == 303
    job = services.jobs.get(int(answer.headers["location"].rsplit("/", 1)[1]))
    request = json.loads(job.request_json)
    assert (job.origin, job.chat_id, job.topic) == ("web", USER, "Keepers")
    assert request["caption_style"] == "karaoke" and Path(request["script_file"]).read_text() == script
    assert Path(request["script_file"]).is_relative_to(services.settings.data_dir)  # released when the job is done


def test_bad_input_gets_a_clear_message_and_no_job(client, services):
    log_in(client, services, USER)
    token = csrf(client, "/make")
    cases = [
        ({"topic": "", "preset": "no-such-preset"}, {}, "no-such-preset"),
        ({"topic": "Keepers", "preset": "science"}, {"script_file": ("s.txt", b"\x00\x01\x02" * 100, "text/plain")},
         "s.txt is not a text file"),
        ({"topic": "Keepers", "preset": "science"}, {"voiceover": ("v.mp3", b"not audio", "audio/mpeg")}, "cannot be read"),
    ]
    for data, files, expected in cases:
        answer = client.post(f"/make?csrf={token}", data=data, files=files or None)
        assert answer.status_code == 400 and expected in answer.text
        assert str(services.settings.data_dir) not in answer.text  # no server path in what the visitor reads
    assert services.jobs.find() == []
    inputs = services.settings.data_dir / "web" / "inputs"
    assert not inputs.exists() or not any(inputs.rglob("*.*"))  # a refused file is deleted at once


def test_an_ab_test_shows_its_schedule_and_days(client, services):
    today = date(2026, 11, 10)
    test = services.store.add(ABTest(video_id="vid123", folder="/x", chat_id=USER, first_day=today, variants=3,
                                     published=datetime(2026, 11, 8, 17, tzinfo=timezone.utc)))
    for offset, variant in enumerate((1, 2, 3, 2, 3, 1)):
        services.store.add(ABDay(test_id=test.id, day=today + timedelta(days=offset), cycle=1 + offset // 3, variant=variant,
                                 switched=datetime(2026, 11, 10, 8, 5, tzinfo=timezone.utc) + timedelta(days=offset)))
        services.store.add(ReachDay(video_id="vid123", day=today + timedelta(days=offset), impressions=1000,
                                    clicks=40 + 10 * variant + offset, report_created=datetime(2026, 11, 20, tzinfo=timezone.utc)))
    log_in(client, services, USER)
    listing = client.get("/abtests").text
    assert "vid123" in listing and "How likely this test is to find a better thumbnail" in listing
    page = client.get(f"/abtests/{test.id}").text
    assert "Tue 10 Nov" in page and "thumbnail 3" in page and 'id="chart-ab"' in page
    assert "After 2 cycle(s) with judged days: thumbnail 3 leads" in page and "likely overstated" in page
    assert "95% interval" not in page  # no plain interval around a leader picked from three
    assert "with about 1,000 impressions a day, a 21-day test finds a 25% better one" in page  # its six days' median
    log_in(client, services, OTHER)
    assert client.get(f"/abtests/{test.id}").status_code == 404


def test_tokens_are_for_admins_and_never_show_a_token(client, services, monkeypatch):
    monkeypatch.setenv("VF_HF_TOKENS", SECRET_TOKEN)
    token = Token.of(SECRET_TOKEN)
    services.store.add(TokenLedger(key=token.key, fingerprint=token.fingerprint, account="alice", calls=7,
                                   month=datetime.now(timezone.utc).strftime("%Y-%m"), spend_usd=0.014))
    services.store.add(HFAccount(name="alice", is_pro=True, can_pay=True, usage_error="HTTP 403"))
    log_in(client, services, USER)
    assert client.get("/tokens").status_code == 403
    from engine.config import load_settings

    services.settings.__dict__["hf_tokens"] = load_settings().hf_tokens  # the setting, as the dashboard read it
    log_in(client, services, None)
    page = client.get("/tokens").text
    assert "alice · PRO · can pay" in page and "…4242" in page and "estimated" in page and "HTTP 403" in page
    assert SECRET_TOKEN not in page


def test_an_expiring_download_link_serves_one_file_without_a_session(client, services):
    job = _job(services, USER)
    link = download_link(services.secret, "https://factory.example.com", int(job.id), "video.srt")
    path = link.removeprefix("https://factory.example.com")
    assert client.get(path).text.startswith("1\n")
    assert client.get(path[:-3] + "xyz").status_code == 404  # tampered
    services.settings.__dict__["web_download_hours"] = 1 / 3600
    time.sleep(2.1)
    assert client.get(path).status_code == 404  # expired


def test_the_form_offers_documentaries_by_minutes(client, services):
    log_in(client, services, USER)
    assert "<option>20m</option>" in client.get("/make").text
    answer = client.post(f"/make?csrf={csrf(client, '/make')}", data={"topic": "Comets", "preset": "science",
                                        "length": "20m", "language": "", "captions": ""})
    assert answer.status_code == 303
    request = json.loads(services.jobs.get(int(answer.headers["location"].rsplit("/", 1)[1])).request_json)
    assert request["minutes"] == 20
