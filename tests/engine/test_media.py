"""ffmpeg never outlives the job that started it, even when the job is killed in the instant it starts one."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from engine.media import _STILL_OURS, dies_with_parent, run_ffmpeg


def test_a_child_whose_parent_is_already_gone_does_not_start():
    began = time.monotonic()
    orphan = subprocess.run(["/bin/sh", "-c", _STILL_OURS, "sh", "1", "sleep", "5"])  # "parent" pid 1: not ours
    assert orphan.returncode == 137 and time.monotonic() - began < 2
    ours = subprocess.run(["/bin/sh", "-c", _STILL_OURS, "sh", str(os.getpid()), "true"])
    assert ours.returncode == 0


@pytest.mark.skipif(not dies_with_parent(), reason="util-linux's setpriv is not installed")
def test_ffmpeg_runs_through_the_guard(tmp_path):
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=0.2", str(tmp_path / "tone.wav")], what="tone")
    assert (tmp_path / "tone.wav").stat().st_size > 1000
