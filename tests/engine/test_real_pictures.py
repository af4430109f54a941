"""Real pictures in a whole job through the real CLI: commons first, the painter for the rest, credits written."""

from __future__ import annotations

import json
from pathlib import Path

import pysubs2
from PIL import Image
import pytest

from engine.config import load_settings
from engine.media import probe
from engine.publish import video_meta
from tests.conftest import isolated_env, made_folder, run_cli
from tests.engine.stages.test_sources import LENINGRAD
from tests.picture_servers import Item, PictureServers

pytestmark = pytest.mark.slow

SCRIPT = """The Ice Road

In November 1942 the siege of Leningrad was in its second winter. Trucks crossed Lake Ladoga on the ice road.

Today a memorial to the siege of Leningrad stands by the lake, where the ice road began.
"""


def test_a_job_with_commons_first_uses_only_allowed_pictures_credits_them_and_reruns_offline(tmp_path: Path):
    servers = PictureServers(items=list(LENINGRAD))
    servers.start()
    try:
        (tmp_path / "ice.txt").write_text(SCRIPT, encoding="utf-8")
        env = isolated_env(tmp_path) | servers.env() | {"VF_IMAGE_SOURCES": "commons"}
        (tmp_path / "data" / "presets").mkdir(parents=True)
        (tmp_path / "data" / "presets" / "archive.toml").write_text(
            'name = "archive"\ndescription = "real pictures"\nextends = "military-history"\n'
            '[images]\ncredits_on_screen = true\n')
        args = ["make", "--script-file", "ice.txt", "--preset", "archive", "--export", "youtube"]
        result = run_cli(args, env, tmp_path)
        assert result.returncode == 0, result.stderr
        folder = made_folder(result)
        assert probe(folder / "video.mp4").video_codec == "h264"
        credits = json.loads((folder / "script.json").read_text())["credits"]
        shots = sum(len(s["shots"]) for s in json.loads((folder / "script.json").read_text())["scenes"])
        assert credits and {c["source"] for c in credits} == {"commons"} and len(credits) <= shots
        assert {c["licence"] for c in credits} <= {"public domain", "CC BY 4.0"}  # NC, ND, SA, unknown: never
        listed = (folder / "credits.txt").read_text()
        assert all(c["author"] in listed and c["licence"] in listed for c in credits)
        on_screen = [e.plaintext for e in pysubs2.load(str(folder / "subtitles.ass")) if e.style == "Credit"]
        assert on_screen == [f"{c['author']} / Wikimedia Commons, {c['licence']}" for c in credits]
        manifest = json.loads((folder / "job.json").read_text())
        assert manifest["backends"]["images"] == "commons+procedural" and "credits.txt" in manifest["files"]
        description = video_meta(folder, load_settings(data_dir=tmp_path / "data"), "private").description
        assert "Pictures:" in description and credits[0]["author"] in description
        listed = run_cli(["shots", str(folder)], env, tmp_path)
        assert listed.returncode == 0 and f"commons: {credits[0]['title']} — {credits[0]['author']}" in listed.stdout
        with Image.open(folder / "contact-sheet.jpg") as sheet:
            assert sheet.width == 4 * 384 and sheet.height >= 216
        first = credits[0]["shot"] + 1  # replaced by its next candidate, in a new video; the old one stays
        remade = run_cli(["shots", str(folder), "--replace", str(first)], env, tmp_path)
        assert remade.returncode == 0, remade.stderr
        again_credits = json.loads((made_folder(remade) / "script.json").read_text())["credits"]
        assert made_folder(remade) != folder and (folder / "video.mp4").is_file()
        assert credits[0]["url"] not in {c["url"] for c in again_credits}
        assert [c for c in again_credits if c["shot"] != credits[0]["shot"]] == credits[1:]
        refused = run_cli(["shots", str(folder), "--replace", "99"], env, tmp_path)
        assert refused.returncode != 0 and "shot 99 has no real picture to replace" in refused.stderr
        servers.down = True  # a rerun of the same video works from the cache
        again = run_cli(args, env, tmp_path)
        assert again.returncode == 0, again.stderr
        assert json.loads((made_folder(again) / "script.json").read_text())["credits"] == credits
    finally:
        servers.stop()


def test_a_stock_clip_becomes_a_moving_shot_in_the_master_and_the_short(tmp_path: Path):
    import av

    servers = PictureServers(items=[Item("pexels-video", "ice-road", "Trucks on the ice road of Lake Ladoga",
                                         "trucks crossing the frozen Lake Ladoga ice road in the siege of Leningrad",
                                         "Mark", "", width=1920, height=1080, seconds=8)])
    servers.start()
    try:
        (tmp_path / "ice.txt").write_text(SCRIPT, encoding="utf-8")
        env = isolated_env(tmp_path) | servers.env() | {"VF_IMAGE_SOURCES": "pexels-video"}
        result = run_cli(["make", "--script-file", "ice.txt", "--preset", "military-history", "--export",
                          "youtube,shorts"], env, tmp_path)
        assert result.returncode == 0, result.stderr
        folder = made_folder(result)
        document = json.loads((folder / "script.json").read_text())
        [credit] = document["credits"]
        assert credit["footage"] and credit["source"] == "pexels-video" and credit["licence"] == "Pexels licence"
        assert f"[pexels-video, clip {credit['shot'] + 1}]" in (folder / "credits.txt").read_text()
        shot = [s for scene in document["scenes"] for s in scene["shots"]][credit["shot"]]
        master, short = probe(folder / "video.mp4"), probe(folder / "exports" / "shorts-1080x1920.mp4")
        assert (master.width, master.height, short.width, short.height) == (1920, 1080, 1080, 1920)
        assert abs(master.duration - document["duration"]) < 0.2
        with av.open(str(folder / "video.mp4")) as container:  # the test pattern moves within the shot
            middle = (shot["start"] + shot["end"]) / 2
            frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)
                      if abs(f.time - middle) < 0.02 or abs(f.time - middle - 0.5) < 0.02]
        assert len(frames) >= 2 and abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2
        with Image.open(json.loads((folder / "job.json").read_text())["stills"][credit["shot"]]) as poster:
            assert poster.size == (1920, 1080)  # thumbnails and the contact sheet get a frame of the clip
    finally:
        servers.stop()


def test_a_preset_that_starts_with_the_archives_paints_at_once_when_they_cannot_be_reached(tmp_path: Path):
    import socket

    with socket.socket() as closed:  # a port nobody listens on: connection refused, as on a machine offline
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    (tmp_path / "ice.txt").write_text(SCRIPT, encoding="utf-8")
    env = isolated_env(tmp_path) | {"VF_IMAGE_SOURCES": "", "VF_COMMONS_API_URL": f"{nowhere}/w/api.php",
                                    "VF_OPENVERSE_API_URL": nowhere}
    result = run_cli(["make", "--script-file", "ice.txt", "--preset", "military-history", "--export", "youtube"],
                     env, tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "skipped for this job" in line]
    assert len(warnings) == 2 and "commons" in warnings[0] and "openverse" in warnings[1]  # once each, no retries
    manifest = json.loads((made_folder(result) / "job.json").read_text())
    assert manifest["backends"]["images"] == "procedural"
    assert not (made_folder(result) / "credits.txt").exists()
