"""Whole jobs with Hugging Face backends through the real CLI, against the local inference server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.media import probe
from tests.conftest import isolated_env, made_folder, run_cli
from tests.hf_server import FakeHF

A, B = "hf_aaaaaaaaaaaaaaaa1111", "hf_bbbbbbbbbbbbbbbb2222"
ARGS = ["-v", "make", "The Road of Life", "--preset", "military-history", "--length", "short", "--export", "youtube"]


@pytest.fixture
def fake(fake_hf):
    return fake_hf


def _env(root: Path, fake: FakeHF, **extra: str) -> dict[str, str]:
    return isolated_env(root) | fake.hub_env() | {"VF_HF_TOKENS": f"{A},{B}", "VF_HF_BASE_URL": fake.url, **extra}


def _secret_free(*texts: str) -> bool:
    return all(token not in text for text in texts for token in (A, B))


def test_a_job_with_tokens_uses_the_language_model_and_flux(fake, tmp_path: Path):
    result = run_cli(ARGS, _env(tmp_path, fake), tmp_path)
    assert result.returncode == 0, result.stderr
    folder = made_folder(result)
    manifest = json.loads((folder / "job.json").read_text())
    assert manifest["backends"]["script"] == "llm" and manifest["backends"]["images"] == "flux"
    script = json.loads((folder / "script.json").read_text())
    assert script["title"] == "The Night Convoy" and script["tags"] == ["history", "winter", "convoy"]
    assert len(fake.image_calls()) == len({c.body["inputs"] for c in fake.image_calls()}) >= 3
    assert probe(folder / "video.mp4").video_codec == "h264"
    logs = result.stdout + result.stderr + (folder / "job.json").read_text() + (folder / "script.json").read_text()
    assert _secret_free(logs)


def test_a_job_killed_mid_batch_resumes_without_making_a_picture_twice(fake, tmp_path: Path):
    fake.latency = 0.4
    # A script with many scenes, so the batch is long enough to kill in the middle.
    (tmp_path / "s.txt").write_text("\n\n".join(f"Part {n}. The trucks crossed the ice again tonight." for n in range(12)))
    env = _env(tmp_path, fake, VF_IMAGE_WORKERS="2")
    args = ["make", "Convoy", "--script-file", "s.txt", "--export", "youtube"]
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", *args], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(fake.image_calls()) < 5 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    made_before = {c.body["inputs"] for c in fake.image_calls()}
    assert 5 <= len(made_before) < 12
    result = run_cli(args, env, tmp_path)
    assert result.returncode == 0, result.stderr
    prompts = [c.body["inputs"] for c in fake.image_calls()]
    assert len(set(prompts)) == 12
    twice = [p for p in set(prompts) if prompts.count(p) > 1]
    # Only pictures in flight at the kill (answered but not yet saved) can be asked for again: at most one per worker.
    assert len(twice) <= 2


def test_spent_tokens_pause_the_job_and_a_rerun_finishes_it(fake, tmp_path: Path):
    fake.accounts.update({A: "alice", B: "bob"})  # two accounts: each has its own credit
    fake.plan(A, quota=1)
    fake.plan(B, quota=1)
    env = _env(tmp_path, fake, VF_SCRIPT_BACKEND="outline")
    paused = run_cli(ARGS, env, tmp_path)
    assert paused.returncode == 75, paused.stderr
    assert "paused: every Hugging Face token is spent" in paused.stderr
    assert "…1111: the account's credit is spent; back 2026-12-01" in paused.stderr or "back 20" in paused.stderr
    assert _secret_free(paused.stdout, paused.stderr)
    first = {c.body["inputs"] for c in fake.image_calls()}
    assert len(first) == 2
    listed = run_cli(["resume"], env, tmp_path)
    assert "waits for a token until" in listed.stdout
    shown = run_cli(["tokens"], env, tmp_path)
    assert "…1111" in shown.stdout and "exhausted" in shown.stdout and _secret_free(shown.stdout)
    # A new month (here: the server lifts the quota and the ledger is told the month rolled) or a new token.
    fake.quotas.clear()
    env["VF_HF_TOKENS"] = f"{A},{B},hf_cccccccccccccccc3333"
    finished = run_cli(ARGS, env, tmp_path)
    assert finished.returncode == 0, finished.stderr
    prompts = [c.body["inputs"] for c in fake.image_calls()]
    assert [p for p in set(prompts) if prompts.count(p) > 1] == []  # the two from before were not made again


def test_a_self_hosted_endpoint_gets_the_inference_and_the_hub_is_asked_nothing(fake, tmp_path: Path):
    """H2: a self-hosted endpoint is no Hugging Face account: whoami, the billing usage and the budget do not apply
    (before, every job of a free account was refused by the router's credit, and a non-hub key marked invalid)."""
    fake.accounts.update({A: "alice", B: "alice"})
    env = _env(tmp_path, fake, VF_HF_BASE_URL=f"{fake.url}/endpoint", VF_SCRIPT_BACKEND="outline",
               VF_HF_BUDGET_USD="0.001")
    result = run_cli(ARGS, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake.image_calls() and all(call.path == "/endpoint" for call in fake.image_calls())
    assert fake.hub_calls("/api/whoami-v2") == [] and fake.hub_calls("/api/settings/billing/usage-v2") == []
    shown = run_cli(["tokens", "--check"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "a self-hosted endpoint (VF_HF_BASE_URL)" in shown.stdout and "invalid" not in shown.stdout
    assert "…1111" in shown.stdout and "…2222" in shown.stdout and _secret_free(shown.stdout, shown.stderr, result.stderr)
    assert fake.hub_calls("/api/whoami-v2") == [] and fake.hub_calls("/api/settings/billing/usage-v2") == []



def test_offline_with_a_token_the_pictures_are_painted_here_after_one_warning(tmp_path: Path):
    """Q3: an inference service nobody can connect to (offline, no DNS) is no reason to fail the job."""
    from tests.conftest import free_port

    env = isolated_env(tmp_path) | {"VF_HF_TOKENS": A, "VF_HF_BASE_URL": f"http://127.0.0.1:{free_port()}",
                                    "VF_SCRIPT_BACKEND": "outline"}
    result = run_cli(["make", "The Road of Life", "--preset", "military-history", "--length", "short",
                      "--export", "youtube"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line or "warning" in line.lower()]
    assert len([w for w in warnings if "cannot be reached" in w]) == 1 and "painted here" in result.stderr
    manifest = json.loads((made_folder(result) / "job.json").read_text())
    assert manifest["backends"]["images"] == "procedural" and _secret_free(result.stdout, result.stderr)
    assert probe(made_folder(result) / "video.mp4").video_codec == "h264"
