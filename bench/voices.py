"""How fast each voice backend reads on this machine: seconds of speech per second of work (and its inverse, RTF).

Run: python bench/voices.py   (writes bench/results/voices.json)
Piper always runs (the bundled voice). Kokoro runs when its weights are in the voices cache or can be
fetched from the hub (HF_ENDPOINT; about 330 MB on first use); edge when Microsoft's service answers.
A backend that cannot run here is listed with the reason, not left out silently.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends import voice_backend
from engine.config import load_settings
from engine.presets import VoiceStyle

TEXT = ("In September 1941 the armies closed the last road into the city. Nearly three million people were trapped "
        "inside, with food for only a few weeks. Across the frozen lake, drivers risked their lives every night.")


def measure(backend: str, settings, folder: Path) -> dict[str, object]:  # noqa: ANN001
    """One backend's first reading (model load included) and its second (warm)."""
    try:
        voice = voice_backend(VoiceStyle(backend=backend), "en", settings)
        began = time.perf_counter()
        voice.speak(TEXT, folder / f"{backend}-1.wav")
        cold = time.perf_counter() - began
        began = time.perf_counter()
        spoken = voice.speak(TEXT + " Again.", folder / f"{backend}-2.wav")
        warm = time.perf_counter() - began
    except Exception as error:  # noqa: BLE001 - a backend that cannot run here is reported, not fatal
        return {"ran": False, "why": f"{type(error).__name__}: {error}"[:300]}
    return {"ran": True, "speech_seconds": round(spoken.duration, 2), "first_seconds": round(cold, 2),
            "warm_seconds": round(warm, 2), "real_time_factor": round(warm / spoken.duration, 3),
            "word_times": "own" if spoken.words else "none: the words stage aligns them"}


def main() -> None:
    """Every backend, then the figures printed and saved."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(os.environ.get("VF_DATA_DIR", Path(tmp) / "data")))
        results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                   "backends": {name: measure(name, settings, Path(tmp)) for name in ("piper", "kokoro", "edge")}}
    out = ROOT / "bench" / "results" / "voices.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
