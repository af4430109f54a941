"""Long videos in chapters through the real CLI: chapter cards, chapter times, YouTube's chapter list, a short per
chapter; and a language model's script written chapter by chapter, killed after chapter two and resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pysubs2
import pytest

from engine.config import load_settings
from engine.media import probe
from engine.publish import video_meta
from tests.conftest import isolated_env, made_folder, run_cli
from tests.engine.test_publish import _youtube_would_show
from tests.hf_server import DocumentaryWriter, FakeHF

pytestmark = pytest.mark.slow

CHAPTERED = """# The Road of Life

## The Ice

[1941-11-22, Lake Ladoga] In November the first convoy crossed the frozen lake. The drivers kept their doors open, \
ready to jump if the ice broke beneath them. Horses had gone first, pulling sledges of flour across the \
thin ice at night.

## The Winter

How could a city live on a few grams of bread a day? The rations fell again in December, and the cold came \
with them. People burned their furniture and their books to stay warm, and the queues for bread grew longer every day.

## The Spring

What would the thaw bring? When the ice melted at last, boats took over from the trucks. The city had survived \
its first winter, and the road across the lake had kept it alive.
"""


def _chapter_description(folder: Path) -> list[str]:
    """The chapter lines of the description YouTube would get for the video in `folder`."""
    meta = video_meta(folder, load_settings(data_dir=folder.parent.parent / "data"), "private")
    return meta.description.split("Chapters:\n", 1)[1].splitlines() if "Chapters:\n" in meta.description else []


def test_a_chaptered_script_gets_chapter_cards_times_a_youtube_chapter_list_and_a_short_per_chapter(tmp_path: Path):
    (tmp_path / "road.txt").write_text(CHAPTERED, encoding="utf-8")
    result = run_cli(["make", "--script-file", "road.txt", "--minutes", "20", "--export", "youtube,shorts"],
                     isolated_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--minutes was ignored" in result.stderr  # a script file keeps its own length
    folder = made_folder(result)
    script = json.loads((folder / "script.json").read_text())
    chapters = script["chapters"]
    assert [c["title"] for c in chapters] == ["The Ice", "The Winter", "The Spring"]
    scenes = script["scenes"]
    for chapter in chapters:  # a chapter starts where its first scene starts
        assert chapter["start"] == (0.0 if chapter["scene"] == 0 else scenes[chapter["scene"]]["start"])
    assert scenes[0]["lower_third"] == "1941-11-22, Lake Ladoga" and "[" not in scenes[0]["narration"]
    burned = pysubs2.load(str(folder / "subtitles.ass"))
    cards = [(round(e.start / 1000, 1), e.plaintext) for e in burned if e.style == "Chapter"]
    assert cards == [(round(c["start"] + 0.3, 1), c["title"]) for c in chapters]
    assert [e.plaintext for e in burned if e.style == "LowerThird"] == ["1941-11-22, Lake Ladoga"]
    assert "The Ice" not in (folder / "subtitles.srt").read_text()  # the cards are on screen, not in the captions
    lines = _chapter_description(folder)
    assert lines[0] == "00:00 The Ice" and _youtube_would_show(lines, script["duration"])
    shorts = sorted((folder / "exports").glob("*.mp4"))
    assert [p.name for p in shorts] == ["shorts-01-the-ice.mp4", "shorts-02-the-winter.mp4", "shorts-03-the-spring.mp4"]
    for path, chapter in zip(shorts, chapters):
        media = probe(path)
        assert (media.width, media.height) == (1080, 1920) and media.audio_codec == "aac"
        assert abs(media.duration - min(60.0, chapter["end"] - chapter["start"])) < 0.6
        assert path.with_suffix(".txt").read_text().startswith(chapter["title"])
        assert "The Road of Life" in path.with_suffix(".txt").read_text()


def _env(root: Path, fake: FakeHF) -> dict[str, str]:
    return isolated_env(root) | fake.hub_env() | {"VF_HF_TOKENS": "hf_aaaaaaaaaaaaaaaa1111", "VF_HF_BASE_URL": fake.url}


def test_a_language_models_long_script_is_written_chapter_by_chapter_and_a_kill_after_chapter_two_asks_no_more(
        fake_hf: FakeHF, tmp_path: Path):
    writer = DocumentaryWriter(chapters=4, hold={3})
    fake_hf.chat_writer = writer
    env, args = _env(tmp_path, fake_hf), ["make", "The Ice Road", "--minutes", "1", "--export", "youtube"]
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", *args], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while 3 not in writer.asked and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # killed while chapter three is being written
    process.wait()
    writer.release.set()
    assert writer.asked == ["outline", 1, 2, 3]
    writer.asked.clear()
    result = run_cli(args, env, tmp_path)  # the same command takes up the killed job
    assert result.returncode == 0, result.stderr
    assert writer.asked == [3, 4]  # the plan and chapters one and two came from the cache
    folder = made_folder(result)
    script = json.loads((folder / "script.json").read_text())
    assert script["source"] == "llm" and script["title"] == "The Ice Road"
    assert [c["title"] for c in script["chapters"]] == [f"Chapter title {n}" for n in range(1, 5)]
    assert abs(probe(folder / "video.mp4").duration - 60) <= 6  # the narration lands within ±10% of a minute
    assert _chapter_description(folder)[0] == "00:00 Chapter title 1"
