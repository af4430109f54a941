"""Bad input through the real command line: one clear line, exit code 2, nothing half-written."""

import errno
import wave
from pathlib import Path

import pytest

from engine import cli
from engine.jobs import JobBook
from engine.store import Store
from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["make", ""], "error: the topic is empty"),
        (["make", "x" * 501], "error: the topic is 501 characters long; the limit is 500"),
        (["make", "Rome", "--preset", "cooking"], "error: unknown preset 'cooking'; known presets: history-documentary, military-history, motivation, mystery-horror, science, true-crime"),
    ],
)
def test_bad_topic_and_preset(args, message, cli_env, tmp_path: Path):
    result = run_cli(args, cli_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(message)
    assert not (tmp_path / "output").exists()


def test_binary_script_file(cli_env, tmp_path: Path):
    script = tmp_path / "script.txt"
    script.write_bytes(b"\x00\x9f\x00binary")
    result = run_cli(["make", "--script-file", str(script), "--export", "youtube"], cli_env, tmp_path)
    assert result.returncode == 2
    assert f"error: script file {script} is not a text file" in result.stderr


def test_corrupt_audio_leaves_nothing_a_later_run_would_reuse(cli_env, tmp_path: Path, short_script: Path):
    audio = tmp_path / "voice.mp3"
    audio.write_bytes(b"ID3" + bytes(range(256)) * 40)
    result = run_cli(["make", "--script-file", str(short_script), "--voiceover", str(audio), "--export", "youtube"], cli_env, tmp_path)
    assert result.returncode == 2
    assert f"error: cannot decode audio file {audio}: it is corrupt or not audio" in result.stderr
    assert not list((tmp_path / "data" / "cache").rglob("result.json"))
    assert not (tmp_path / "output" / "night-train" / "video.mp4").exists()


def test_output_folder_not_writable(cli_env, tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    result = run_cli(["make", "Rome", "--output", str(blocker / "videos")], cli_env, tmp_path)
    assert result.returncode == 2
    assert f"error: cannot write {blocker / 'videos'}" in result.stderr
    assert JobBook(Store(f"sqlite:///{tmp_path / 'data' / 'videofactory.db'}")).find() == []  # no job was made


def test_disk_full_during_a_run(monkeypatch, tmp_path: Path, capsys, short_script: Path):
    monkeypatch.setenv("VF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VF_OUTPUT_DIR", str(tmp_path / "output"))

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wave, "open", no_space)  # the first audio write hits a full disk
    code = cli.main(["make", "--script-file", str(short_script)])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: disk full while writing")
    assert not list((tmp_path / "data" / "cache").rglob("result.json"))
    assert not (tmp_path / "output" / "night-train" / "video.mp4").exists()


def test_presets_command_lists_one_line_each(cli_env, tmp_path: Path):
    result = run_cli(["presets"], cli_env, tmp_path)
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == sorted(["military-history", "science", "true-crime", "history-documentary", "mystery-horror", "motivation"])
    assert all(len(line.split(maxsplit=1)[1]) > 20 for line in lines)


def test_an_unknown_export_is_refused_before_any_work(cli_env, tmp_path: Path):
    result = run_cli(["make", "Rome", "--export", "shorts,vine"], cli_env, tmp_path)
    assert result.returncode == 2
    assert "error: unknown export 'vine'; known: youtube, shorts, tiktok, reels, feed, square" in result.stderr
    assert not (tmp_path / "output").exists()


def test_youtube_and_abtest_commands_without_authorisation_say_what_to_do(cli_env, tmp_path: Path):
    listing = run_cli(["abtest"], cli_env, tmp_path)
    assert listing.returncode == 0 and "no A/B tests yet" in listing.stdout
    not_a_video = run_cli(["youtube", "publish", str(tmp_path)], cli_env, tmp_path)
    assert not_a_video.returncode == 2 and "is missing or broken" in not_a_video.stderr
    folder = tmp_path / "video"
    folder.mkdir()
    (folder / "video.mp4").write_bytes(b"x")
    (folder / "script.json").write_text('{"title": "T", "scenes": [{"narration": "n"}]}')
    (folder / "job.json").write_text('{"inputs": {"preset": "science", "topic": "T"}}')
    unauthorised = run_cli(["youtube", "publish", str(folder), "--privacy", "public"], cli_env, tmp_path)
    assert unauthorised.returncode == 2
    assert unauthorised.stderr.strip() == "error: YouTube is not authorised yet: run `videofactory youtube auth`"
    no_client = run_cli(["youtube", "auth", "--console"], cli_env, tmp_path)
    assert no_client.returncode == 2 and "VF_YOUTUBE_CLIENT_SECRETS is not set" in no_client.stderr
    wrong = run_cli(["abtest", "pick", "9", "2"], cli_env, tmp_path)
    assert wrong.returncode == 2 and "there is no A/B test 9" in wrong.stderr
