"""Jobs per hour through one queue worker and through two, for jobs whose work is mostly waiting.

A real Redis and real `videofactory worker` processes. Each job's script comes from the local fake
inference server: the same narration every time, so voice, word timings and music come from the
cache after a first, untimed job. Each job gets image prompts of its own, so its pictures are made
again, one at a time, with LATENCY seconds of waiting each. The share of a job's one-worker time
spent waiting on pictures is reported; the target setup has it at 85% or more.

Run: python bench/queue_throughput.py   (writes bench/results/queue.json)
Target (issue 20): two workers at least 1.8x one worker's jobs per hour; nothing lost or made twice.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port  # noqa: E402
from tests.hf_server import VALID_SCRIPT, FakeHF  # noqa: E402

JOBS, LATENCY = 8, 12.0
TOKEN = "hf_benchqueuebenchqueue01"


def _script(tag: str) -> str:
    script = copy.deepcopy(VALID_SCRIPT)
    for scene in script["scenes"]:
        scene["image_prompt"] += f", plate {tag}"  # new pictures; the same narration
    return json.dumps(script)


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "engine.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"videofactory {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout.strip()


def _batch(env: dict[str, str], fake: FakeHF, workers: int, tag: str) -> dict[str, float]:
    """JOBS jobs through `workers` worker processes: wall seconds, and seconds spent waiting on pictures."""
    fake.chat_replies.extend(_script(f"{tag}-{n}") for n in range(JOBS))
    before = len(fake.image_calls())
    running = [subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
               for _ in range(workers)]
    try:
        time.sleep(5)  # the workers connect
        began = time.perf_counter()
        ids = [_cli(env, "submit", f"Convoy {tag} {n}", "--preset", "military-history", "--export", "youtube")
               for n in range(JOBS)]
        for job_id in ids:
            _cli(env, "wait", job_id)
        wall = time.perf_counter() - began
    finally:
        for worker in running:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
    pictures = fake.image_calls()[before:]
    prompts = [call.body["inputs"] for call in pictures]
    return {"workers": workers, "jobs": JOBS, "seconds": round(wall, 1), "jobs_per_hour": round(JOBS / wall * 3600, 1),
            "pictures": len(prompts), "pictures_made_twice": len(prompts) - len(set(prompts)),
            "waiting_seconds": round(sum(call.finished - call.started for call in pictures), 1)}


def main() -> None:
    """Warm the cache with one job, then time one worker and two."""
    redis = shutil.which("redis-server")
    if redis is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    port = free_port()
    server = subprocess.Popen([redis, "--port", str(port), "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fake = FakeHF(latency=LATENCY)
    fake.url = fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VF_")} | {
            "VF_DATA_DIR": f"{tmp}/data", "VF_OUTPUT_DIR": f"{tmp}/output", "VF_BROKER_URL": f"redis://127.0.0.1:{port}/0",
            "VF_HF_TOKENS": TOKEN, "VF_HF_BASE_URL": fake.url, "HF_ENDPOINT": fake.url, "VF_IMAGE_WORKERS": "1",
            "VF_SCRIPT_BACKEND": "llm", "VF_IMAGE_BACKEND": "flux", "VF_HF_BUDGET_USD": "1000"}
        try:
            fake.chat_replies.append(_script("warm"))
            warm = [subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"], env=env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
            time.sleep(5)
            _cli(env, "wait", _cli(env, "submit", "Convoy warm", "--preset", "military-history", "--export", "youtube"))
            os.killpg(warm[0].pid, signal.SIGTERM)
            warm[0].wait(60)
            one, two = _batch(env, fake, 1, "one"), _batch(env, fake, 2, "two")
        finally:
            fake.stop()
            server.terminate()
    results = {
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores", "latency_seconds_per_picture": LATENCY,
        "one_worker": one, "two_workers": two,
        "waiting_share_one_worker": round(one["waiting_seconds"] / one["seconds"], 3),
        "speed_up": round(two["jobs_per_hour"] / one["jobs_per_hour"], 2),
    }
    out = ROOT / "bench" / "results" / "queue.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"one worker: {one['jobs_per_hour']} jobs/hour ({one['seconds']} s for {JOBS}), waiting "
          f"{results['waiting_share_one_worker']:.0%}; two workers: {two['jobs_per_hour']} jobs/hour "
          f"({two['seconds']} s); speed-up {results['speed_up']}x; pictures made twice: "
          f"{one['pictures_made_twice'] + two['pictures_made_twice']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
