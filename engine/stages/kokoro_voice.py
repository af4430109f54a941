"""The `kokoro` voice: Kokoro-82M through `kokoro-onnx`, English that sounds better than Piper.

The weights come from the hub on first use (`onnx-community/Kokoro-82M-v1.0-ONNX`: the model and one
file of style vectors per voice) into the voices cache, like Piper's voices. kokoro-onnx loads its
voices from one NumPy archive: the fetched voice files are packed into one beside them. The model
gives no word times, so the words stage times the narration (Whisper, then our warp).
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path

import numpy as np

from engine.errors import BackendError, ConfigError, InputError
from engine.media import write_wav
from engine.presets import VoiceStyle
from engine.stages.voice import SpokenText, said
from engine.voices import VoiceHub

log = logging.getLogger(__name__)

REPO = "onnx-community/Kokoro-82M-v1.0-ONNX"
MODEL_FILE = "onnx/model.onnx"
STYLE_WIDTH = 256
LANGUAGES = {"a": "en-us", "b": "en-gb"}  # the first letter of a voice: American or British English
VOICES = ("af_heart", "af_bella", "af_nicole", "af_sarah", "am_adam", "am_michael", "am_fenrir", "bf_emma",
          "bf_isabella", "bm_george", "bm_lewis", "bm_daniel")
LICENCE = "Apache-2.0"  # the model card of hexgrad/Kokoro-82M


class KokoroTTS:
    """Kokoro-82M on onnxruntime, fetched on first use."""

    name = "kokoro"

    def __init__(self, style: VoiceStyle, language: str, cache_dir: Path, repo: str = REPO) -> None:
        if language != "en":
            raise InputError(f"the kokoro voice speaks English here, not '{language}': use piper or edge")
        if style.kokoro[:1] not in LANGUAGES:
            raise InputError(f"'{style.kokoro}' is not a Kokoro voice such as af_heart (American) or bm_george")
        self.style, self.hub = style, VoiceHub(cache_dir, repo)

    def settings(self) -> dict[str, object]:
        """Voice, speed, pauses and lexicon: what changes the audio."""
        return {"backend": self.name, "voice": self.style.kokoro, "speed": self.style.speed,
                "sentence_pause": self.style.sentence_pause, "lexicon": self.style.lexicon}

    @cached_property
    def _engine(self):  # noqa: ANN202 - kokoro_onnx.Kokoro, imported here: an optional extra
        try:
            from kokoro_onnx import Kokoro
        except ImportError:
            raise ConfigError("the kokoro voice needs its extra: pip install 'videofactory[kokoro]'") from None
        model = self.hub.file(MODEL_FILE)
        vectors = self.hub.file(f"voices/{self.style.kokoro}.bin")
        archive = vectors.with_name(f"{self.style.kokoro}.npz")
        if not archive.is_file():  # next to the fetched file: made once
            styles = np.fromfile(vectors, np.float32).reshape(-1, 1, STYLE_WIDTH)
            np.savez(archive.with_suffix(""), **{self.style.kokoro: styles})
        try:
            return Kokoro(str(model), str(archive))
        except Exception as error:  # onnxruntime raises many types for a broken model
            raise BackendError(f"cannot load the Kokoro model: {type(error).__name__}: {error}") from None

    def speak(self, text: str, out: Path) -> SpokenText:
        """`text` read by the Kokoro voice; no word times (the words stage finds them)."""
        try:
            audio, rate = self._engine.create(said(text, self.style.lexicon), voice=self.style.kokoro,
                                              speed=self.style.speed, lang=LANGUAGES[self.style.kokoro[0]],
                                              sentence_pause=0.25 + self.style.sentence_pause)
        except (ValueError, RuntimeError) as error:
            raise BackendError(f"the kokoro voice could not read the text: {error}") from None
        write_wav(out, np.asarray(audio, np.float32), rate)
        return SpokenText(out, len(audio) / rate, rate, None)
