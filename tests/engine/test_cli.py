"""Bad input through the real command line: one clear line, exit code 2, nothing half-written."""

import errno
import os
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
    entries = list((tmp_path / "data" / "cache").rglob("result.json"))
    assert all((entry.parent / "files.json").is_file() for entry in entries)  # only whole entries (the moods' reading)
    assert not list((tmp_path / "data" / "cache").rglob("*.wav"))  # no audio written in half
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
    assert "with no reach figures yet (taking 1,000 impressions a day), a 21-day test finds a 25% better" in listing.stdout
    power = run_cli(["abtest", "power", "--channel", "history"], cli_env, tmp_path)
    assert power.returncode == 0 and power.stdout.startswith("How likely this test is to find a better thumbnail")
    not_a_video = run_cli(["youtube", "publish", str(tmp_path)], cli_env, tmp_path)
    assert not_a_video.returncode == 2 and "is missing or broken" in not_a_video.stderr
    folder = tmp_path / "video"
    folder.mkdir()
    (folder / "video.mp4").write_bytes(b"x")
    (folder / "script.json").write_text('{"title": "T", "scenes": [{"narration": "n"}]}')
    (folder / "job.json").write_text('{"inputs": {"preset": "science", "topic": "T"}}')
    hidden = run_cli(["youtube", "publish", str(folder), "--ab-test"], cli_env, tmp_path)  # private by default
    assert hidden.returncode == 2 and "an A/B test needs a video people can see now" in hidden.stderr
    unauthorised = run_cli(["youtube", "publish", str(folder), "--privacy", "public"], cli_env, tmp_path)
    assert unauthorised.returncode == 2
    assert unauthorised.stderr.strip() == "error: YouTube is not authorised yet: run `videofactory youtube auth`"
    no_client = run_cli(["youtube", "auth", "--console"], cli_env, tmp_path)
    assert no_client.returncode == 2 and "VF_YOUTUBE_CLIENT_SECRETS is not set" in no_client.stderr
    wrong = run_cli(["abtest", "pick", "9", "2"], cli_env, tmp_path)
    assert wrong.returncode == 2 and "there is no A/B test 9" in wrong.stderr
    one_title = run_cli(["abtest", "titles", "--video", "v1", "--title", "Only one"], cli_env, tmp_path)
    assert one_title.returncode == 2 and "two or more titles" in one_title.stderr


def _one_clear_line(result, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("VF_FPS", "0", "error: invalid configuration: VF_FPS: Input should be greater than or equal to 12"),
    ("VF_RENDER_CRF", "99", "error: invalid configuration: VF_RENDER_CRF: Input should be less than or equal to 51"),
    ("VF_ABTEST_MAX_DAYS", "3", "error: invalid configuration: VF_ABTEST_MAX_DAYS: Input should be greater"),
    ("VF_EXPORT_MAX_SECONDS", "tiktok=180", "error: invalid configuration: VF_EXPORT_MAX_SECONDS is not valid JSON"),
    ("VF_HF_TOKENS", "hf_real1234567890abcd,not a token!", "error: Hugging Face token 2 (of VF_HF_TOKENS"),
])
def test_a_bad_setting_is_named_in_one_line_before_any_work(variable, value, message, cli_env, tmp_path: Path):
    result = run_cli(["make", "Rome"], cli_env | {variable: value}, tmp_path)
    _one_clear_line(result, message)
    assert "not a token!" not in result.stderr and "hf_real" not in result.stderr  # a token's text is never shown
    assert not (tmp_path / "output").exists()


def test_a_language_the_narrator_cannot_speak_is_refused(cli_env, tmp_path: Path):
    _one_clear_line(run_cli(["make", "Rome", "--language", "xx"], cli_env, tmp_path),
                    "error: language 'xx' is not one the narrator can speak")


@pytest.mark.parametrize("kind", ["device", "pipe", "huge"])
def test_a_script_that_is_not_a_plain_small_file_is_refused_before_it_is_read(kind, cli_env, tmp_path: Path):
    if kind == "device":
        script, message = Path("/dev/zero"), "error: script file /dev/zero does not exist or is not a plain file"
    elif kind == "pipe":
        script = tmp_path / "script.fifo"
        os.mkfifo(script)  # reading it would wait for ever
        message = f"error: script file {script} does not exist or is not a plain file"
    else:
        script = tmp_path / "book.txt"
        script.write_text("word " * 400_000)
        message = f"error: script file {script} is over 1 MB"
    _one_clear_line(run_cli(["make", "--script-file", str(script)], cli_env, tmp_path, timeout=60), message)


def test_a_damaged_database_is_named_not_a_traceback(cli_env, tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "videofactory.db").write_bytes(b"not a database at all " * 200)
    _one_clear_line(run_cli(["stats"], cli_env, tmp_path), f"error: the database {tmp_path / 'data' / 'videofactory.db'} is damaged")


def test_a_database_held_by_another_process_is_waited_for_then_named(cli_env, tmp_path: Path):
    import sqlite3
    import threading

    path = tmp_path / "data" / "videofactory.db"
    path.parent.mkdir()
    JobBook(Store(f"sqlite:///{path}")).find()  # made and migrated
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for a long time
    try:
        busy = run_cli(["make", "Rome", "--export", "youtube"], cli_env | {"VF_DATABASE_BUSY_SECONDS": "0.5"}, tmp_path)
    finally:
        holder.execute("ROLLBACK")
    _one_clear_line(busy, "error: the database is busy: another process has held it for over 0.5 s")
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(1.0, lambda: holder.execute("ROLLBACK")).start()  # a short write: waited for
    book = JobBook(Store(f"sqlite:///{path}", busy_seconds=10))
    assert book.find() == []  # readers never wait (WAL)…
    from engine.tables import ChatSettings

    book.store.add(ChatSettings(chat_id=5))  # …and a writer waits until the other is done
    assert book.store.get(ChatSettings, 5) is not None


def test_a_voiceover_over_the_limit_is_refused_from_its_header(cli_env, tmp_path: Path, short_script: Path):
    from engine.media import run_ffmpeg

    recording = tmp_path / "long.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=200:duration=75", "-c:a", "aac", "-b:a", "32k", str(recording)],
               what="a long recording")
    result = run_cli(["make", "--script-file", str(short_script), "--voiceover", str(recording)],
                     cli_env | {"VF_MAX_VOICEOVER_MINUTES": "1"}, tmp_path)
    _one_clear_line(result, f"error: voice-over file {recording}: that recording is 1.2 minutes long; the limit is 1 minutes")
    assert not (tmp_path / "data" / "cache").exists()  # nothing was decoded


def test_a_job_that_fails_leaves_no_empty_folder(cli_env, tmp_path):
    """I5: a script with only a heading fails with one line, and no empty job folder is left in the output."""
    heading = tmp_path / "heading.txt"
    heading.write_text("# The Ice Road\n")
    failed = run_cli(["make", "--script-file", str(heading), "--preset", "science"], cli_env, tmp_path)
    assert failed.returncode == 2 and "no narration" in failed.stderr
    output = tmp_path / "output"
    assert not output.exists() or [p for p in output.iterdir()] == []
