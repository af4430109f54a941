"""The content calendar on a clock the test sets: two channels, their own credentials, videos made ahead,
approved, scheduled with publishAt through google-api-python-client, held, paused by a revoked token."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.channels import AuthState, ChannelBook, parse_calendar
from engine.config import load_settings
from engine.jobs import JobState, Origin
from engine.models import JobRequest
from engine.abtest import ABTester
from engine.planner import Planner
from engine.reach import channel_testers
from engine.plans import PlanBook, PlanLine, PlanState, parse_plan_file
from engine.runner import make
from engine.stats import gather, stats_text
from engine.store import Store
from engine.tables import Job
from engine.youtube import SCOPES, YouTube, credentials_file
from tests.engine.test_youtube_auth import TokenEndpoint
from tests.youtube_http import YouTubeHttp

MONDAY = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)  # a Monday morning, 07:00 in Berlin


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """One real short video, copied as each job's own."""
    root = tmp_path_factory.mktemp("made")
    settings = load_settings(data_dir=root / "data", output_dir=root / "output")
    return make(JobRequest(topic="Tides", preset="science", length="short", exports=("youtube",), review=False),
                settings).folder


class StubRunner:
    """Jobs queued as rows; `finish` ends them with a copy of one real video as each one's folder."""

    def __init__(self, store: Store, made: Path, root: Path) -> None:
        self.store, self.made, self.root, self.asked = store, made, root, []

    def submit(self, request: JobRequest, origin: Origin) -> Job:
        self.asked.append((request, origin))
        return self.store.add(Job(topic=request.topic, preset=request.preset, slug="v", chat_id=origin.chat_id,
                                  origin=origin.kind, request_json=request.model_dump_json()))

    def finish(self, now: datetime) -> None:
        for job in [self.store.get(Job, k) for k in range(1, 50)]:
            if job is not None and job.state == JobState.QUEUED:
                folder = self.root / f"job-{job.id}"
                shutil.copytree(self.made, folder)
                job.state, job.folder, job.started, job.finished = "done", str(folder), now - timedelta(minutes=20), now
                self.store.add(job)


def _credentials(settings, channel: str, endpoint: TokenEndpoint) -> None:
    path = credentials_file(settings, channel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"client_id": "123.apps", "client_secret": "s", "refresh_token": f"1//{channel}",
                                "token": "old", "expiry": "2020-01-01T00:00:00Z", "token_uri": f"{endpoint.url}/token",
                                "scopes": list(SCOPES)}))


@pytest.fixture
def endpoint():
    server = TokenEndpoint()
    yield server
    server.server.shutdown()


def test_two_channels_three_days_made_ahead_approved_scheduled_held_and_one_revoked(tmp_path, made, endpoint):
    settings = load_settings(data_dir=tmp_path / "data", google_token_uri=f"{endpoint.url}/token")
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    channels, plans = ChannelBook(store), PlanBook(store)
    clock = [MONDAY]  # YouTube's clock is the test's: a scheduled video goes public at its publishAt by it
    http = {"history": YouTubeHttp(video_prefix="hist", clock=lambda: clock[0]),
            "science": YouTubeHttp(video_prefix="sci", clock=lambda: clock[0])}
    for name, chat in (("history", 100), ("science", 200)):
        _credentials(settings, name, endpoint)
        channels.authorised(name, f"UC-{name}", name.title(), None, False, MONDAY)
    # History wants its videos two days before their deadline; science the default 12 hours.
    channels.set_calendar("history", ("mon,wed,fri", "18:00", "Europe/Berlin"), chat_id=100, preset="science",
                          approval_hours=48)
    channels.set_calendar("science", ("daily", "09:00", "UTC"), chat_id=200, preset="science")
    runner = StubRunner(store, made, tmp_path)

    def connect(name: str) -> YouTube:
        return YouTube.connect(settings, http=http[name])

    def planner() -> Planner:  # a new one is the bot restarted: everything it knows is in the database
        return Planner(settings, store, runner, connect, channel_testers(settings, store, connect))

    def tick(moment: datetime) -> list:
        clock[0] = moment
        return planner().tick(moment)

    added, refused = plans.add("history", [PlanLine("The siege of Leningrad"), PlanLine("The Battle of Kursk"),
                                           PlanLine("Operation Bagration")])
    again, repeat = plans.add("history", [PlanLine("Leningrad: the siege")])
    plans.add("science", [PlanLine("Why the sky is blue"), PlanLine("How tides work")])
    assert len(added) == 3 and not refused and not again and "repeats «The siege of Leningrad»" in repeat[0]

    notices = tick(MONDAY)
    slots = {row.topic: row.slot for row in plans.find()}
    # Berlin's 18:00 is 17:00 UTC in winter; Monday, Wednesday, Friday; science every day at 09:00 UTC.
    assert [slots[t].replace(tzinfo=timezone.utc) for t in ("The siege of Leningrad", "The Battle of Kursk",
                                                             "Operation Bagration")] == [
        datetime(2026, 12, d, 17, 0, tzinfo=timezone.utc) for d in (7, 9, 11)]
    assert slots["Why the sky is blue"].replace(tzinfo=timezone.utc) == datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    # Made ahead: Monday's videos of both channels now; Wednesday's not yet.
    assert sorted(r.topic for r, _ in runner.asked) == ["The siege of Leningrad", "Why the sky is blue"]
    assert {o.chat_id for _, o in runner.asked} == {100, 200} and all("Making" in n.text for n in notices)

    runner.finish(MONDAY + timedelta(minutes=20))
    notices = tick(MONDAY + timedelta(minutes=25))
    asks = {n.chat_id: n for n in notices if n.approve}
    assert set(asks) == {100, 200} and "Approve it by Mon 7 Dec 17:00 (Europe/Berlin)" in asks[100].text
    planner().approve(asks[100].plan_id, MONDAY + timedelta(minutes=30))
    notices = tick(MONDAY + timedelta(minutes=35))
    [history_insert] = http["history"].inserted
    assert history_insert["status"] == {**history_insert["status"], "privacyStatus": "private",
                                        "publishAt": "2026-12-07T17:00:00Z"}
    assert not http["science"].inserted and any("hist-1" in n.text and n.chat_id == 100 for n in notices)

    # Science's Monday video is not approved by 08:00 (an hour before its time): held, and its chat told.
    notices = tick(datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc))
    assert [(n.chat_id, "held" in n.text) for n in notices] == [(200, True)]
    assert plans.find("science", (PlanState.HELD,))[0].topic == "Why the sky is blue"

    # Science's refresh token is revoked: the daily check tells only its chat, and only it stops uploading.
    endpoint.revoked_tokens.add("1//science")
    notices = planner().watch_credentials(datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc))
    assert [(n.chat_id, "--channel science" in n.text) for n in notices] == [(200, True)]
    assert (channels.get("science").auth_state, channels.get("history").auth_state) == (AuthState.REVOKED, AuthState.OK)
    daily = stats_text(gather(store, 1, datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc), 5.0))
    assert "Calendar: 2 planned video(s) made in the period" in daily
    assert "coming Wed 9 Dec 17:00 UTC, history: «The Battle of Kursk» (backlog)" in daily
    assert "waiting for your approval: #4 science «Why the sky is blue»" in daily
    assert "science: its YouTube authorisation was refused" in daily
    tuesday = datetime(2026, 12, 7, 21, 0, tzinfo=timezone.utc)
    tick(tuesday)  # starts science's Tuesday video (and Wednesday's history)
    runner.finish(tuesday)
    asks = [n for n in tick(tuesday + timedelta(minutes=5)) if n.approve]
    for ask in asks:
        planner().approve(ask.plan_id, tuesday + timedelta(minutes=6))
    tick(tuesday + timedelta(minutes=10))
    assert len(http["history"].inserted) == 2 and not http["science"].inserted  # paused, not lost
    assert http["history"].inserted[1]["status"]["publishAt"] == "2026-12-09T17:00:00Z"

    # Authorised again: what waited goes up at the next tick.
    channels.authorised("science", "UC-science", "Science", None, False, tuesday + timedelta(hours=1))
    tick(tuesday + timedelta(hours=1))
    assert [i["status"]["publishAt"] for i in http["science"].inserted] == ["2026-12-08T09:00:00Z"]
    # Each video that goes public at its time gets its thumbnails' A/B test, on its own channel.
    notices = tick(datetime(2026, 12, 8, 17, 1, tzinfo=timezone.utc))
    assert [n.chat_id for n in notices if "A/B test #2 of its thumbnails started" in n.text] == [200]
    assert all("How likely this test is to find a better thumbnail" in n.text for n in notices if "started" in n.text)
    tests = ABTester(store, lambda: None, lambda: None).tests()  # type: ignore[arg-type,return-value]
    assert sorted((t.channel, t.video_id, t.chat_id) for t in tests) == [("history", "hist-1", 100),
                                                                        ("science", "sci-1", 200)]
    states = {row.topic: row.state for row in plans.find("science")}
    assert states == {"Why the sky is blue": PlanState.HELD, "How tides work": PlanState.PUBLISHED}


def test_a_testing_apps_token_is_reported_a_day_before_it_ends(tmp_path, endpoint):
    settings = load_settings(data_dir=tmp_path / "data", google_token_uri=f"{endpoint.url}/token")
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    _credentials(settings, "crime", endpoint)
    ChannelBook(store).authorised("crime", "UC-crime", "Crime", None, True, MONDAY)
    ChannelBook(store).set_calendar("crime", None, chat_id=300)
    planner = Planner(settings, store, None, lambda name: None)  # type: ignore[arg-type]
    assert planner.watch_credentials(MONDAY + timedelta(days=5)) == []
    [notice] = planner.watch_credentials(MONDAY + timedelta(days=6, hours=1))
    assert notice.chat_id == 300 and "Testing" in notice.text and "Mon 14 Dec 06:00" in notice.text


def test_a_plan_file_is_lines_or_csv_with_times_and_a_bad_row_is_named():
    assert [p.topic for p in parse_plan_file("The Alamo\n\n# a comment\nPearl Harbor\n")] == ["The Alamo", "Pearl Harbor"]
    [row] = parse_plan_file("topic,preset,length,publish_at\nThe Alamo,military-history,short,2026-12-05T18:00+01:00\n")
    assert (row.preset, row.length, row.publish_at.utcoffset()) == ("military-history", "short", timedelta(hours=1))
    with pytest.raises(Exception, match="line 2: give the time zone"):
        parse_plan_file("topic,publish_at\nThe Alamo,2026-12-05T18:00\n")


def test_a_calendar_keeps_local_time_across_daylight_saving():
    berlin = parse_calendar("sun", "18:00", "Europe/Berlin")
    slots = berlin.slots(datetime(2026, 3, 20, tzinfo=timezone.utc), datetime(2026, 4, 6, tzinfo=timezone.utc))
    assert [s.hour for s in slots] == [17, 16, 16]  # CET, then CEST from 29 March


def test_a_topic_said_in_other_words_is_refused_and_a_sibling_topic_is_not(tmp_path):
    from engine.stages.relevance import EmbeddingRelevance, make_relevance

    plans = PlanBook(Store(f"sqlite:///{tmp_path / 'plan.db'}"))
    plans.add("science", [PlanLine("Why the sky is blue"), PlanLine("The siege of Leningrad")])
    added, refused = plans.add("science", [PlanLine("The blue colour of the daytime sky"),
                                           PlanLine("The Battle of Stalingrad"), PlanLine("why THE skies are blue")])
    if isinstance(make_relevance(), EmbeddingRelevance):  # by meaning (cosine 0.86); Stalingrad is 0.68 from Leningrad
        assert [row.topic for row in added] == ["The Battle of Stalingrad"] and len(refused) == 2
    else:  # by words alone, only the same words are caught
        assert [row.topic for row in added] == ["The blue colour of the daytime sky", "The Battle of Stalingrad"]
    assert "«why THE skies are blue» repeats «Why the sky is blue»" in refused[-1]


def test_the_plan_commands_add_import_schedule_list_and_remove(tmp_path):
    from engine.store import open_store
    from tests.conftest import isolated_env, run_cli

    env = isolated_env(tmp_path)
    store = open_store(load_settings(data_dir=tmp_path / "data"))
    ChannelBook(store).authorised("history", "UC-history", "History Hour", None, False, MONDAY)
    alamo = (datetime.now(timezone.utc) + timedelta(days=30)).astimezone(ZoneInfo("Europe/Berlin")).replace(
        hour=18, minute=0, second=0, microsecond=0)  # a month from now: a time that has passed is refused
    (tmp_path / "topics.csv").write_text("topic,preset,length,publish_at\n"
                                         f"The Alamo,military-history,short,{alamo.isoformat()}\n"
                                         "Pearl Harbor,,,\n", encoding="utf-8")
    (tmp_path / "past.csv").write_text("topic,publish_at\nThe Somme,2020-07-01T07:30+01:00\n", encoding="utf-8")
    added = run_cli(["plan", "add", "The siege of Leningrad", "The Battle of Kursk"], env, tmp_path)
    imported = run_cli(["plan", "import", "topics.csv"], env, tmp_path)
    repeat = run_cli(["plan", "add", "--channel", "history", "Leningrad siege"], env, tmp_path)
    past = run_cli(["plan", "import", "past.csv"], env, tmp_path)
    scheduled = run_cli(["plan", "schedule", "mon,wed,fri", "18:00", "Europe/Berlin", "--chat", "100", "--auto"],
                        env, tmp_path)
    bad = run_cli(["plan", "schedule", "mon,funday", "18:00", "Europe/Berlin"], env, tmp_path)
    removed = run_cli(["plan", "remove", "#2"], env, tmp_path)
    listed = run_cli(["plan", "list"], env, tmp_path)
    channels = run_cli(["channels"], env, tmp_path)
    assert added.returncode == imported.returncode == scheduled.returncode == removed.returncode == 0, added.stderr
    assert added.stdout.count("added:") == 2 and imported.stdout.count("added:") == 2
    assert repeat.returncode == 1 and "repeats «The siege of Leningrad»" in repeat.stdout
    assert bad.returncode != 0 and "'mon,funday' is not a list of days" in bad.stderr
    assert f"{alamo:%a %-d %b} 18:00 (Europe/Berlin)" in listed.stdout  # the CSV's time, shown in the channel's zone
    assert past.returncode != 0 and "«The Somme» is to go public at 2020-07-01T07:30:00+01:00, which has passed" in past.stderr
    assert "The Somme" not in listed.stdout
    assert "The Battle of Kursk" not in listed.stdout and "Pearl Harbor" in listed.stdout
    assert "History Hour (UC-history): mon, wed, fri at 18:00 Europe/Berlin, auto; authorisation ok" in channels.stdout


def test_ideas_come_from_the_language_model_through_the_token_pool_and_leave_out_repeats(tmp_path, fake_hf):
    settings = load_settings(data_dir=tmp_path / "data", hf_tokens="hf_aaaaaaaaaaaaaaaa1111", hf_base_url=fake_hf.url)
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    ChannelBook(store).authorised("history", "UC-history", "History Hour", None, False, MONDAY)
    ChannelBook(store).set_calendar("history", None, preset="military-history")
    PlanBook(store).add("history", [PlanLine("The siege of Leningrad")])
    fake_hf.chat_replies.append('Here: {"topics": ["The Battle of Kursk", "Leningrad: the siege", "Operation Bagration"]}')
    ideas = Planner(settings, store, None, lambda name: None).ideas("history")  # type: ignore[arg-type]
    assert [row.topic for row in ideas] == ["The Battle of Kursk", "Operation Bagration"]
    assert {row.state for row in ideas} == {PlanState.IDEA}
    [call] = [c for c in fake_hf.calls if c.path.endswith("/chat/completions")]
    asked = call.body["messages"][-1]["content"]
    assert "The siege of Leningrad" in asked and "History Hour" in asked and "10 new video topics" in asked
    PlanBook(store).accept(ideas[0].id)
    assert PlanBook(store).get(ideas[0].id).state == PlanState.BACKLOG
    with pytest.raises(Exception, match="ideas need a language model"):
        Planner(load_settings(data_dir=tmp_path / "data"), store, None, lambda name: None).ideas("history")  # type: ignore[arg-type]


def test_an_upload_refused_for_its_authorisation_pauses_the_channel_and_keeps_the_video(tmp_path, made):
    settings = load_settings(data_dir=tmp_path / "data")
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    ChannelBook(store).authorised("science", "UC-science", "Science", None, False, MONDAY)
    ChannelBook(store).set_calendar("science", ("daily", "09:00", "UTC"), chat_id=200, preset="science")
    runner, http = StubRunner(store, made, tmp_path), YouTubeHttp(unauthorised=True)
    planner = Planner(settings, store, runner, lambda name: YouTube.connect(settings, http=http))
    PlanBook(store).add("science", [PlanLine("How tides work")])
    planner.tick(MONDAY)
    runner.finish(MONDAY)
    [ask] = [n for n in planner.tick(MONDAY + timedelta(minutes=1)) if n.approve]
    planner.approve(ask.plan_id, MONDAY + timedelta(minutes=2))
    first, again = planner.tick(MONDAY + timedelta(minutes=3)), planner.tick(MONDAY + timedelta(minutes=8))
    assert [n.chat_id for n in first] == [200] and "youtube auth --channel science" in first[0].text
    assert again == [] and PlanBook(store).get(ask.plan_id).state == PlanState.APPROVED  # told once; kept
    assert ChannelBook(store).get("science").auth_state == AuthState.REVOKED


def test_a_video_published_by_hand_before_its_upload_is_not_uploaded_twice(tmp_path, made):
    from engine.records import YouTubeRecord, read_manifest, write_manifest

    settings = load_settings(data_dir=tmp_path / "data")
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    ChannelBook(store).authorised("science", "UC-science", "Science", None, False, MONDAY)
    ChannelBook(store).set_calendar("science", ("daily", "09:00", "UTC"), chat_id=200, preset="science")
    runner, http = StubRunner(store, made, tmp_path), YouTubeHttp()
    planner = Planner(settings, store, runner, lambda name: YouTube.connect(settings, http=http))
    PlanBook(store).add("science", [PlanLine("How tides work")])
    planner.tick(MONDAY)
    runner.finish(MONDAY)
    [ask] = [n for n in planner.tick(MONDAY + timedelta(minutes=1)) if n.approve]
    folder = tmp_path / "job-1"  # the owner tapped Publish under the video meanwhile
    write_manifest(folder, read_manifest(folder).model_copy(update={"youtube": YouTubeRecord(
        video_id="by-hand", url="https://youtu.be/by-hand", privacy="public")}))
    planner.approve(ask.plan_id, MONDAY + timedelta(minutes=2))
    [notice] = planner.tick(MONDAY + timedelta(minutes=3))
    assert "already on YouTube: https://youtu.be/by-hand" in notice.text and not http.inserted
    assert PlanBook(store).get(ask.plan_id).state == PlanState.FAILED and planner.tick(MONDAY + timedelta(minutes=8)) == []


def test_videos_wanted_at_once_are_started_one_after_another_backwards_from_the_latest():
    from engine.planner import back_scheduled

    six = datetime(2026, 12, 7, 6, tzinfo=timezone.utc)
    hour = timedelta(minutes=30)  # twice it is an hour
    starts = back_scheduled({1: (six, hour), 2: (six, hour), 3: (six + timedelta(hours=5), hour)})
    assert starts[3] == six + timedelta(hours=4)  # alone at its time: its own rule
    assert sorted([starts[1], starts[2]]) == [six - timedelta(hours=2), six - timedelta(hours=1)]  # queued, not together


def _approved_and_due(tmp_path, made, http: YouTubeHttp, testers: bool = False):
    """A science channel with one video made and approved for 09:00 on Monday: the planner, its plan and store."""
    settings = load_settings(data_dir=tmp_path / "data")
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    ChannelBook(store).authorised("science", "UC-science", "Science", None, False, MONDAY)
    ChannelBook(store).set_calendar("science", ("daily", "09:00", "UTC"), chat_id=200, preset="science")
    runner = StubRunner(store, made, tmp_path)

    def connect(name: str) -> YouTube:
        return YouTube.connect(settings, http=http)

    planner = Planner(settings, store, runner, connect, channel_testers(settings, store, connect) if testers else None)
    PlanBook(store).add("science", [PlanLine("How tides work")])
    planner.tick(MONDAY)
    runner.finish(MONDAY)
    [ask] = [n for n in planner.tick(MONDAY + timedelta(minutes=1)) if n.approve]
    planner.approve(ask.plan_id, MONDAY + timedelta(minutes=2))
    return planner, ask.plan_id, store


def test_a_thumbnail_refused_for_a_while_after_the_upload_is_set_at_the_next_tick_without_a_second_upload(
        tmp_path, made):
    """Y2: the upload went through, thumbnails.set answered 429; the plan is `uploaded`, not failed."""
    http = YouTubeHttp(thumbnail_refusals=["rate"])
    planner, plan_id, store = _approved_and_due(tmp_path, made, http)
    assert planner.tick(MONDAY + timedelta(minutes=3)) == []
    row = PlanBook(store).get(plan_id)
    assert (row.state, row.video_id) == (PlanState.UPLOADED, "yt-video-1") and "uploadRateLimitExceeded" in row.note
    [notice] = planner.tick(MONDAY + timedelta(minutes=8))
    assert "is on Science: https://youtu.be/yt-video-1" in notice.text
    assert PlanBook(store).get(plan_id).state == PlanState.SCHEDULED
    assert len(http.inserted) == 1 and http.routes().count("thumbnail") == 2 and http.routes().count("captions") == 1


def test_a_channel_not_verified_for_thumbnails_is_told_so_once_and_the_video_is_scheduled(tmp_path, made):
    """Y2, Y3: a refusal that a retry cannot mend is told, and the upload goes on; nothing is retried every tick."""
    http = YouTubeHttp(thumbnail_refusals=["unverified"])
    planner, plan_id, store = _approved_and_due(tmp_path, made, http)
    [notice] = planner.tick(MONDAY + timedelta(minutes=3))
    assert PlanBook(store).get(plan_id).state == PlanState.SCHEDULED and "verify it by phone" in notice.text
    assert planner.tick(MONDAY + timedelta(minutes=8)) == [] and http.routes().count("thumbnail") == 1


def test_a_video_locked_private_after_its_upload_gets_no_test_and_the_chat_is_told_why(tmp_path, made):
    """Y1: at its time the video's status is read from YouTube; the insert's answer said nothing of the lock."""
    clock = [MONDAY]
    http = YouTubeHttp(clock=lambda: clock[0])
    planner, plan_id, store = _approved_and_due(tmp_path, made, http, testers=True)
    planner.tick(MONDAY + timedelta(minutes=3))
    assert http.statuses["yt-video-1"]["publishAt"] == "2026-12-07T09:00:00Z"
    http.locks = True  # YouTube locks it after the upload's answer
    clock[0] = datetime(2026, 12, 7, 9, 1, tzinfo=timezone.utc)
    [notice] = planner.tick(clock[0])
    assert "did not go public" in notice.text and "locked private" in notice.text and "No A/B test" in notice.text
    assert PlanBook(store).get(plan_id).state == PlanState.FAILED
    assert ABTester(store, lambda: None, lambda: None).tests() == []  # type: ignore[arg-type,return-value]


def test_a_scheduled_video_goes_public_at_its_time_and_only_then_gets_its_test(tmp_path, made):
    """Y1: YouTube makes it public at publishAt; a tick a little early (by YouTube's clock) waits."""
    clock = [MONDAY]
    http = YouTubeHttp(clock=lambda: clock[0])
    planner, plan_id, store = _approved_and_due(tmp_path, made, http, testers=True)
    planner.tick(MONDAY + timedelta(minutes=3))
    nine = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    clock[0] = nine - timedelta(seconds=30)  # our tick is due, YouTube has not published it yet
    assert planner.tick(nine) == [] and PlanBook(store).get(plan_id).state == PlanState.SCHEDULED
    clock[0] = nine + timedelta(minutes=5)
    [notice] = planner.tick(clock[0])
    assert "is public on Science" in notice.text and "A/B test #1" in notice.text
    assert PlanBook(store).get(plan_id).state == PlanState.PUBLISHED


def test_plan_import_refuses_what_is_not_a_plain_file_an_open_quote_and_unknown_presets(tmp_path):
    """I1, I3, I4: /dev/zero and a FIFO are never read, an open quote names its line, a preset must exist."""
    import os

    from engine.store import open_store
    from tests.conftest import isolated_env, run_cli

    env = isolated_env(tmp_path)
    ChannelBook(open_store(load_settings(data_dir=tmp_path / "data"))).authorised(
        "history", "UC-history", "History Hour", None, False, MONDAY)
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "quote.csv").write_text("topic,preset\nThe Alamo,science\n\"Pearl Harbor,science\nMidway,\n")
    (tmp_path / "presets.csv").write_text("topic,preset\nThe Alamo,nope\n")
    for args, said in ((["plan", "import", "/dev/zero"], "zero does not exist or is not a plain file"),
                       (["plan", "import", str(tmp_path / "pipe.txt")], "pipe.txt does not exist or is not a plain"),
                       (["plan", "import", str(tmp_path / "quote.csv")], "line 3: the CSV does not read"),
                       (["plan", "import", str(tmp_path / "presets.csv")], "unknown preset 'nope'"),
                       (["plan", "schedule", "daily", "18:00", "UTC", "--preset", "nope"], "unknown preset 'nope'")):
        done = run_cli(args, env, tmp_path, timeout=60)
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
    listed = run_cli(["plan", "list"], env, tmp_path)
    assert listed.stdout.strip() == "nothing planned"
    assert ChannelBook(open_store(load_settings(data_dir=tmp_path / "data"))).get("history").preset is None


def test_numbered_topics_are_different_videos_and_refusals_are_counted(tmp_path):
    """I2: "Apollo 11" and "Apollo 13" are two videos; 10,000 numbered topics are all kept; a repeat is counted."""
    from engine.store import open_store
    from tests.conftest import isolated_env, run_cli

    env = isolated_env(tmp_path)
    ChannelBook(open_store(load_settings(data_dir=tmp_path / "data"))).authorised(
        "science", "UC-s", "Science", None, False, MONDAY)
    (tmp_path / "many.txt").write_text("\n".join(f"Mysteries of the deep, part {k}" for k in range(1, 10001)))
    many = run_cli(["plan", "import", str(tmp_path / "many.txt")], env, tmp_path)
    assert many.returncode == 0 and "10000 added, 0 refused" in many.stdout
    again = run_cli(["plan", "add", "Apollo 11", "Apollo 13", "World War 1", "World War 2", "apollo 11",
                     "Mysteries of the deep, part 7"], env, tmp_path)
    assert "4 added, 2 refused as repeats" in again.stdout and again.returncode == 1
    assert "«apollo 11» repeats «Apollo 11»" in again.stdout
