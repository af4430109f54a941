"""Whole videos made offline through the real CLI, probed; a run killed mid-render resumes."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pysubs2
import pytest
from PIL import Image

from engine.align import match_indices
from engine.media import measure_loudness, probe, run_ffmpeg
from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS
from engine.text import normalise_word
from tests.conftest import SHORT_SCRIPT, isolated_env, made_folder, run_cli

TOPIC = "The Siege of Leningrad"
ARGS = ["make", TOPIC, "--preset", "military-history", "--length", "short"]
ONLY_MASTER = ["--export", "youtube"]  # the exports have a test of their own; other tests skip them
FOLDER = "the-siege-of-leningrad-1"  # the slug and the job's number: each job has a folder of its own


def _stage_runs(root: Path) -> list[dict]:
    with sqlite3.connect(root / "data" / "videofactory.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM stage_runs ORDER BY id")]


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention `text` (a test's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in command and state != "Z":
            found.append(command)
    return found


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("whole")
    result = run_cli(ARGS, isolated_env(root), root)
    assert result.returncode == 0, result.stderr
    return root


def test_topic_becomes_a_probed_video_with_subtitles_thumbnails_and_manifest(uninterrupted: Path):
    folder = uninterrupted / "output" / FOLDER
    assert not (uninterrupted / "data" / "work" / FOLDER).exists()  # the job's scratch went with the job
    narration_seconds = json.loads((folder / "script.json").read_text())["duration"]  # the narration's length
    assert 20 <= narration_seconds <= 40

    info = probe(folder / "video.mp4")
    assert (info.width, info.height, info.fps) == (1920, 1080, 30.0)
    assert (info.video_codec, info.audio_codec, info.audio_rate) == ("h264", "aac", 48000)
    assert abs(info.duration - narration_seconds) <= 0.5
    loudness = measure_loudness(folder / "video.mp4")  # YouTube's reference, measured by ebur128
    assert abs(loudness.integrated_lufs + 14.0) <= 1.0 and loudness.true_peak_db <= -1.0

    # The preset's default exports: a vertical copy for Shorts, laid out and captioned for it.
    short = probe(folder / "exports" / "shorts-1080x1920.mp4")
    assert (short.width, short.height, short.fps, short.audio_codec) == (1080, 1920, 30.0, "aac")
    assert short.duration <= 60.0 and abs(short.duration - info.duration) <= 0.5

    srt = pysubs2.load(str(folder / "subtitles.srt"))
    starts = [event.start for event in srt]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(a.end <= b.start for a, b in zip(srt, srt[1:]))
    assert srt[-1].end <= narration_seconds * 1000
    assert len(pysubs2.load(str(folder / "subtitles.ass"))) == len(srt)

    digests = set()
    for number in (1, 2, 3):
        path = folder / "thumbnails" / f"{number}.jpg"
        assert path.stat().st_size < 2 * 1024 * 1024
        with Image.open(path) as image:
            assert image.size == (1280, 720) and image.format == "JPEG"
            digests.add(hashlib.sha256(image.tobytes()).hexdigest())
    assert len(digests) == 3

    script = json.loads((folder / "script.json").read_text())
    scenes = script["scenes"]
    assert scenes[0]["start"] == 0 and abs(scenes[-1]["end"] - narration_seconds) < 0.01
    assert all(a["end"] == b["start"] for a, b in zip(scenes, scenes[1:]))
    assert all(s["narration"] and s["image_prompt"] and s["mood"] for s in scenes)
    durations = {round(s["end"] - s["start"], 2) for s in scenes}
    assert len(durations) == len(scenes)  # from the words, not a fixed time per image

    manifest = json.loads((folder / "job.json").read_text())
    assert manifest["inputs"]["topic"] == TOPIC
    assert manifest["backends"]["voice"] == "piper" and manifest["backends"]["images"] == "procedural"
    assert set(manifest["stage_seconds"]) >= {"script", "voice", "words", "timeline", "images", "music", "render", "thumbnails"}
    assert set(manifest["files"]) >= {"video.mp4", "subtitles.srt", "subtitles.ass", "thumbnails/1.jpg", "script.json", "job.json"}


def test_killed_run_resumes_without_recomputing_and_matches(uninterrupted: Path, tmp_path: Path):
    env = isolated_env(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", *ARGS, *ONLY_MASTER], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    killed_after = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            render = [r for r in _stage_runs(tmp_path) if r["stage"] == "render"]
        except sqlite3.Error:
            render = []
        if render and render[0]["items_computed"] >= 2:
            process.send_signal(signal.SIGKILL)
            killed_after = render[0]["items_computed"]
            break
        time.sleep(0.02)
    process.wait()
    assert killed_after is not None, "the run finished before it could be killed"
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "output" / FOLDER / "video.mp4").exists()
    deadline = time.monotonic() + 1  # an orphaned encoder would go on for seconds
    while _processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(tmp_path)) == []  # its ffmpeg children ended with it
    first = _stage_runs(tmp_path)

    result = run_cli([*ARGS, *ONLY_MASTER], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert made_folder(result) == tmp_path / "output" / FOLDER  # the same job taken up again, not a new one
    assert "job 1 goes on from where it stopped" in result.stderr
    second = [r for r in _stage_runs(tmp_path) if r["id"] > first[-1]["id"]]
    by_stage = {r["stage"]: r for r in second}
    assert by_stage["voice"]["items_computed"] == 0 and by_stage["voice"]["items_cached"] == by_stage["voice"]["items_total"]
    assert by_stage["images"]["items_computed"] == 0 and by_stage["images"]["items_cached"] == by_stage["images"]["items_total"]
    render = by_stage["render"]
    assert render["items_cached"] >= killed_after
    assert render["items_cached"] + render["items_computed"] == render["items_total"]
    assert render["items_computed"] <= render["items_total"] - killed_after

    ours, reference = tmp_path / "output" / FOLDER, uninterrupted / "output" / FOLDER
    assert json.loads((ours / "script.json").read_text()) == json.loads((reference / "script.json").read_text())
    for number in (1, 2, 3):
        path = Path("thumbnails") / f"{number}.jpg"
        assert (ours / path).read_bytes() == (reference / path).read_bytes()
    assert abs(probe(ours / "video.mp4").duration - probe(reference / "video.mp4").duration) < 0.05


def test_own_script_with_own_voiceover(tmp_path: Path, short_script: Path):
    # The user's voice-over: here Piper's voice, saved as Ogg Vorbis so it must be decoded.
    spoken = PiperTTS(VoiceStyle(speed=0.9)).speak(SHORT_SCRIPT.split("\n", 2)[2], tmp_path / "take.wav")
    voiceover = tmp_path / "take.ogg"
    run_ffmpeg(["-i", str(spoken.audio), "-c:a", "libvorbis", str(voiceover)], what="test voice-over")

    result = run_cli(["make", "--script-file", str(short_script), "--voiceover", str(voiceover), "--preset", "true-crime", *ONLY_MASTER],
                     isolated_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    folder = made_folder(result)
    assert folder == tmp_path / "output" / "night-train-1"
    manifest = json.loads((folder / "job.json").read_text())
    assert manifest["backends"]["voice"] == "voiceover" and manifest["backends"]["words"] == "faster-whisper+warp"
    info = probe(folder / "video.mp4")
    assert abs(info.duration - spoken.duration) <= 0.5
    srt = pysubs2.load(str(folder / "subtitles.srt"))
    text = " ".join(event.plaintext.replace("\n", " ") for event in srt)
    assert text.split() == " ".join(SHORT_SCRIPT.split("\n", 2)[2].split()).split()  # spelled as written
    # Each caption appears when its first word is spoken in the voice-over.
    first_word = 0
    for event in srt:
        assert abs(event.start / 1000 - spoken.words[first_word].start) < 0.08, event
        first_word += len(event.plaintext.split())
    assert json.loads((folder / "script.json").read_text())["title"] == "The Night Train"


def test_a_voiceover_without_a_script_is_transcribed_into_scenes(tmp_path: Path):
    body = " ".join(SHORT_SCRIPT.split("\n", 2)[2].split())
    text = f"{body} The conductor checked the list again. One name was written in red ink, and nobody had boarded with it."
    spoken = PiperTTS(VoiceStyle()).speak(text, tmp_path / "take.wav")
    result = run_cli(["make", "Night Train", "--voiceover", str(spoken.audio), *ONLY_MASTER], isolated_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    folder = made_folder(result)
    document = json.loads((folder / "script.json").read_text())
    assert document["source"] == "transcript" and len(document["scenes"]) >= 2
    transcript = " ".join(scene["narration"] for scene in document["scenes"]).split()
    said = [normalise_word(w) for w in text.split()]
    heard = [normalise_word(w) for w in transcript]
    assert len(match_indices(said, heard)) >= 0.85 * len(said)  # Whisper heard what was said
    srt = pysubs2.load(str(folder / "subtitles.srt"))
    assert " ".join(e.plaintext.replace("\n", " ") for e in srt).split() == transcript
    assert abs(probe(folder / "video.mp4").duration - spoken.duration) <= 0.5


def test_thumbnails_are_regenerated_from_other_pictures_and_one_approved(uninterrupted: Path, tmp_path: Path):
    import shutil

    folder = tmp_path / FOLDER
    shutil.copytree(uninterrupted / "output" / FOLDER, folder)  # the module's video stays as it was
    env = isolated_env(uninterrupted)

    def pixels() -> list[str]:
        digests = []
        for number in (1, 2, 3):
            with Image.open(folder / "thumbnails" / f"{number}.jpg") as image:
                assert image.size == (1280, 720)
                digests.append(hashlib.sha256(image.tobytes()).hexdigest())
        return digests

    before = pixels()
    again = run_cli(["thumbnails", str(folder), "--again"], env, uninterrupted)
    assert again.returncode == 0, again.stderr
    after = pixels()
    assert len(set(after)) == 3 and not set(after) & set(before)

    chosen = run_cli(["thumbnails", str(folder), "--approve", "2"], env, uninterrupted)
    assert chosen.returncode == 0, chosen.stderr
    assert (folder / "thumbnail.jpg").read_bytes() == (folder / "thumbnails" / "2.jpg").read_bytes()
    manifest = json.loads((folder / "job.json").read_text())
    assert manifest["thumbnail"] == {"file": "thumbnail.jpg", "design": 2, "variant": 1}
    assert "thumbnail.jpg" in manifest["files"]

    missing = run_cli(["thumbnails", str(tmp_path), "--again"], env, uninterrupted)
    assert missing.returncode == 2 and "not a finished video's folder" in missing.stderr


def test_a_restored_data_dir_with_damaged_entries_remakes_only_those(uninterrupted: Path, tmp_path: Path):
    import shutil

    shutil.copytree(uninterrupted / "data", tmp_path / "data", symlinks=True)  # restored elsewhere…
    cache = tmp_path / "data" / "cache"
    speech = sorted(cache.rglob("speech.wav"))[1]
    speech.write_bytes(speech.read_bytes()[: speech.stat().st_size // 2])  # a scene's narration, cut short
    still = sorted(cache.rglob("still.png"))[0]
    still.write_bytes(still.read_bytes()[:1000])
    (uninterrupted / "data").rename(uninterrupted / "data.away")  # …and the old place is gone
    try:
        result = run_cli([*ARGS, *ONLY_MASTER], isolated_env(tmp_path), tmp_path)
    finally:
        (uninterrupted / "data.away").rename(uninterrupted / "data")
    assert result.returncode == 0, result.stderr
    newest = max(r["job_id"] for r in _stage_runs(tmp_path))  # the restored data dir holds the earlier jobs
    runs = {r["stage"]: r for r in _stage_runs(tmp_path) if r["job_id"] == newest}
    assert runs["voice"]["items_computed"] == 1 and runs["voice"]["items_cached"] == runs["voice"]["items_total"] - 1
    assert runs["images"]["items_computed"] == 1  # the rest came from the moved cache
    made, reference = made_folder(result), uninterrupted / "output" / FOLDER
    assert abs(probe(made / "video.mp4").duration - probe(reference / "video.mp4").duration) < 0.05
    assert json.loads((made / "script.json").read_text())["scenes"] == json.loads((reference / "script.json").read_text())["scenes"]


def test_the_same_video_asked_for_again_is_made_from_the_cache_alone(uninterrupted: Path):
    result = run_cli([*ARGS, *ONLY_MASTER], isolated_env(uninterrupted), uninterrupted)
    assert result.returncode == 0, result.stderr
    newest = max(r["job_id"] for r in _stage_runs(uninterrupted))
    runs = {r["stage"]: r for r in _stage_runs(uninterrupted) if r["job_id"] == newest}
    for stage in ("voice", "images", "music", "render", "thumbnails"):
        assert runs[stage]["items_computed"] == 0 and runs[stage]["items_cached"] > 0, stage  # nothing made again
    # The moods come from the cache; the outline, timeline and captions are derived again in memory: no work.
    assert runs["moods"]["items_cached"] == 1
    assert all(runs[stage]["items_computed"] == 0 for stage in ("script", "moods", "words", "timeline", "captions"))
    again, first = made_folder(result), uninterrupted / "output" / FOLDER
    assert again != first and (again / "video.mp4").read_bytes() == (first / "video.mp4").read_bytes()


def test_two_runs_of_one_topic_at_once_each_make_a_whole_video_of_their_own(tmp_path: Path, short_script: Path):
    env = isolated_env(tmp_path)
    args = [sys.executable, "-m", "engine.cli", "make", "Night Train", "--script-file", str(short_script), *ONLY_MASTER]
    runs = [subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in results]
    folders = {Path(out.splitlines()[0]) for out, _ in results}
    assert folders == {tmp_path / "output" / "night-train-1", tmp_path / "output" / "night-train-2"}
    durations = {round(probe(folder / "video.mp4").duration, 1) for folder in folders}
    assert len(durations) == 1 and durations.pop() > 5  # the same, whole video twice
    leftovers = [p for p in (tmp_path / "output").rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # no scratch file of either run is left behind
