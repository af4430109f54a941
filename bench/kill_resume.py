"""A short job killed (SIGKILL, the whole process tree) as each stage begins, then the same command again.

For each stage of `videofactory make` on a short script, in a fresh data folder: start the command, kill it
the moment its job's row says that stage has started, run the same command again, and check that the second
run ends with a valid video (probed: H.264 and AAC, its duration) and recomputed nothing that the first run
had finished (every stage that had ended: its items all from the cache, or the stage a cache hit). Stages
that only derive in memory from what came before (the script split from the user's text, the timeline,
the captions) count neither as computed nor as cached; they are listed as derived again.

Run: python bench/kill_resume.py   (writes bench/results/kill-resume.json; about ten minutes on 2 cores)
Target (issue 34): every run finishes with a valid video and recomputes nothing that had finished.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.media import probe  # noqa: E402

SCRIPT = "\n\n".join(f"The ice road across Lake Ladoga carried {n} thousand tonnes of flour that winter. "
                     "Trucks drove with their doors open, ready to jump if the ice gave way." for n in range(1, 5))
ARGS = ["make", "--script-file", "road.txt", "--preset", "military-history", "--export", "shorts"]


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VF_")}
    return env | {"VF_DATA_DIR": str(root / "data"), "VF_OUTPUT_DIR": str(root / "output"), "VF_IMAGE_SOURCES": "none",
                  "PYTHONPATH": str(ROOT)}


def _rows(root: Path, query: str) -> list[tuple]:
    database = root / "data" / "videofactory.db"
    if not database.is_file():
        return []
    with sqlite3.connect(database, timeout=30) as connection:
        try:
            return connection.execute(query).fetchall()
        except sqlite3.OperationalError:  # the first run has not made its tables yet
            return []


def _run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *ARGS], cwd=root, env=_env(root), capture_output=True,
                          text=True, timeout=1800)


def stages_in_order() -> list[str]:
    """The stages of one whole run, in the order they started."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "road.txt").write_text(SCRIPT)
        done = _run(root)
        assert done.returncode == 0, done.stderr
        return [row[0] for row in _rows(root, "SELECT stage FROM stage_runs ORDER BY id")]


def killed_at(stage: str) -> dict[str, object]:
    """Kill the command as `stage` begins, run it again, and say what the second run made again."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "road.txt").write_text(SCRIPT)
        first = subprocess.Popen([sys.executable, "-m", "engine.cli", *ARGS], cwd=root, env=_env(root),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 900
        while not _rows(root, f"SELECT id FROM stage_runs WHERE stage = '{stage}'"):
            if first.poll() is not None or time.monotonic() > deadline:
                return {"stage": stage, "killed": False}
            time.sleep(0.02)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
        finished = {row[0] for row in _rows(root, "SELECT stage FROM stage_runs WHERE outcome = 'done'")}
        last_id = max(row[0] for row in _rows(root, "SELECT id FROM stage_runs"))
        started = time.monotonic()
        again = _run(root)
        seconds = time.monotonic() - started
        redone = [row[0] for row in _rows(root, f"SELECT stage, items_computed, cache_hit FROM stage_runs WHERE id > "
                                                f"{last_id} AND outcome = 'done'")
                  if row[0] in finished and row[1] > 0 and not row[2]]
        derived = [row[0] for row in _rows(root, f"SELECT stage, items_computed, items_cached FROM stage_runs WHERE "
                                                 f"id > {last_id} AND outcome = 'done'")
                   if row[0] in finished and row[1] == 0 and row[2] == 0]
        videos = list((root / "output").glob("*/video.mp4"))
        info = probe(videos[0]) if again.returncode == 0 and len(videos) == 1 else None
        return {"stage": stage, "killed": True, "second_run_exit": again.returncode, "second_run_seconds": round(seconds, 1),
                "one_folder": len(list((root / "output").iterdir())) == 1,
                "valid_video": bool(info and info.video_codec == "h264" and info.audio_codec == "aac" and info.duration > 5),
                "finished_before_the_kill": sorted(finished), "made_again": redone, "derived_again": derived}


def main() -> None:
    """Every stage boundary, then the figures."""
    stages = list(dict.fromkeys(stages_in_order()))
    results = [killed_at(stage) for stage in stages[1:]]  # killed as each stage after the first begins
    for row in results:
        print(f"{row['stage']:<12} killed={row['killed']} valid={row.get('valid_video')} "
              f"made again={row.get('made_again')} second run {row.get('second_run_seconds')} s")
    ok = all(r["killed"] and r["valid_video"] and not r["made_again"] and r["one_folder"] for r in results)
    out = ROOT / "bench" / "results" / "kill-resume.json"
    out.write_text(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "stages": stages,
                               "runs": results, "all_resumed_without_redoing_finished_work": ok}, indent=2) + "\n")
    print(f"all resumed, nothing finished made again: {ok} ({out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
