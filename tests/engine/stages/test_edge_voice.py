"""The edge voice through the real edge-tts client, against a local stand-in of the service's websocket."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import BackendError
from engine.media import probe, wav_info
from engine.presets import VoiceStyle
from engine.stages import edge_voice
from engine.stages.edge_voice import EdgeTTS
from tests.edge_server import FakeEdge


@pytest.fixture
def edge(monkeypatch):
    server = FakeEdge()
    monkeypatch.setattr("edge_tts.communicate.WSS_URL", server.start())
    monkeypatch.setattr(edge_voice.time, "sleep", lambda seconds: None)
    yield server
    server.stop()


def test_words_are_timed_by_the_services_word_boundaries(edge: FakeEdge, tmp_path: Path):
    spoken = EdgeTTS(VoiceStyle(backend="edge", speed=1.1), "ru").speak("The trucks crossed the ice.", tmp_path / "a.wav")
    [asked] = edge.asked
    assert asked == {"voice": "Microsoft Server Speech Text to Speech Voice (ru-RU, DmitryNeural)", "rate": "+10%",
                     "text": "The trucks crossed the ice.", "words": True}  # WordBoundary events asked for
    assert [w.text for w in spoken.words] == ["The", "trucks", "crossed", "the", "ice."]  # the written words
    assert all(a.end <= b.start + 1e-3 for a, b in zip(spoken.words, spoken.words[1:]))
    media = probe(spoken.audio)
    assert wav_info(spoken.audio).rate == 24000 and abs(media.duration - spoken.duration) < 0.05
    assert spoken.words[-1].end <= spoken.duration


def test_a_respelled_word_leaves_the_timing_to_the_words_stage(edge: FakeEdge, tmp_path: Path):
    style = VoiceStyle(backend="edge", lexicon={"USSR": "U S S R"})
    spoken = EdgeTTS(style, "en").speak("The USSR signed.", tmp_path / "a.wav")
    assert edge.asked[0]["text"] == "The U S S R signed." and spoken.words is None


def test_a_failing_service_is_tried_again_then_is_a_backend_error(edge: FakeEdge, tmp_path: Path):
    edge.refuse = 1
    assert EdgeTTS(VoiceStyle(backend="edge"), "en").speak("Once more.", tmp_path / "a.wav").words is not None
    edge.refuse = 3
    with pytest.raises(BackendError, match="failed 3 times"):
        EdgeTTS(VoiceStyle(backend="edge"), "en").speak("Never.", tmp_path / "b.wav")


def _edge_preset(settings) -> str:  # noqa: ANN001
    folder = settings.user_presets_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "neural.toml").write_text('name = "neural"\ndescription = "edge voice"\nextends = "science"\n'
                                        'exports = ["youtube"]\n[voice]\nbackend = "edge"\n')
    return "neural"


@pytest.mark.slow
def test_a_job_read_by_the_edge_voice_and_one_whose_service_fails_read_by_piper(edge, settings, short_script, caplog):
    import json

    from engine.models import JobRequest
    from engine.runner import make

    request = JobRequest(topic="", preset=_edge_preset(settings), script_file=short_script)
    made = make(request, settings)
    manifest = json.loads(made.manifest.read_text())
    assert manifest["backends"]["voice"] == "edge" and manifest["backends"]["words"] == "edge-alignment"
    assert len(edge.asked) == 2  # one call per scene
    edge.refuse = 99
    fallen = make(request.model_copy(update={"fresh": True}), settings)
    manifest = json.loads(fallen.manifest.read_text())
    assert manifest["backends"]["voice"] == "piper" and probe(fallen.video).duration > 5
    assert "the edge voice failed" in caplog.text and "Piper reads the narration instead" in caplog.text
