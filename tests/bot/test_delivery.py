"""What the bot does with videos over Telegram's upload limit, and how it shows progress."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.delivery import fit_for_telegram
from bot.jobs import ChatProgress
from engine.media import probe, run_ffmpeg


def test_a_video_over_the_limit_gets_a_smaller_playable_copy(tmp_path: Path):
    big = tmp_path / "video.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=6", "-f", "lavfi", "-i", "sine=d=6",
                "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-c:a", "aac", "-shortest", str(big)],
               what="test video")
    limit = big.stat().st_size // 4
    small = fit_for_telegram(big, limit, tmp_path)
    assert small != big and small.stat().st_size <= limit
    info = probe(small)
    assert info.video_codec == "h264" and info.audio_codec == "aac" and abs(info.duration - 6) < 0.3
    assert fit_for_telegram(small, limit, tmp_path) == small  # small enough: sent as it is
    assert big.is_file()  # the full file stays


def test_progress_shows_stage_share_and_time_left_but_not_too_often(monkeypatch: pytest.MonkeyPatch):
    clock = [20.0]  # a machine booted 20 s ago: monotonic time is small, and the first message still goes
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    posted: list[str] = []
    progress = ChatProgress(posted.append, every=3600, began=clock[0], stage_began=clock[0])
    progress.started("render", 10, "segment")
    clock[0] += 10
    progress.advanced("render", 5)  # inside the throttle window: not posted
    assert len(posted) == 1 and posted[0].startswith("⏳ render: 0/10 segment (0%)")
    clock[0] += 3600
    progress.advanced("render", 5)
    assert "5/10 segment (50%)" in posted[-1] and "left in this step" in posted[-1]
