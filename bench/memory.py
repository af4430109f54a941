"""Peak memory of the longest job the factory accepts: a voice-over of an hour, stage by stage.

A script of the given length is read by Piper into a WAV (the "user's" voice-over), then one job
is made from that script and recording, as `videofactory make --script-file … --voiceover …`
would. The resident memory of this process and its ffmpeg children is sampled every 0.1 s and
the peak kept per stage.

Run: python bench/memory.py [minutes, default 60]   (writes bench/results/memory.json)
     python bench/memory.py --words 20000             (writes bench/results/memory-script.json)
The second form is the longest script the factory accepts (20,000 words) read by our own voice at
the long length, with no voice-over of the user's: `videofactory make --script-file … --length long`.
Target (issues 17 and 34): under 1.5 GB at every stage, for any input the factory accepts (60 minutes
of voice-over is the default cap, 20,000 words the script's).
"""

from __future__ import annotations

import json
import multiprocessing
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from pipeline import PARAGRAPH, TreeMemory  # noqa: E402
from engine.cache import Cache  # noqa: E402
from engine.config import load_settings  # noqa: E402
from engine.models import JobRequest, Scene, Script  # noqa: E402
from engine.presets import VoiceStyle  # noqa: E402
from engine.runner import JobProgressed, make  # noqa: E402
from engine.stages.voice import PiperTTS, narrate  # noqa: E402

WORDS_PER_MINUTE = 150  # Piper's pace, near enough for sizing the script


def long_script(minutes: float) -> Script:
    """Scenes of the benchmark paragraph, enough of them for about `minutes` of narration."""
    scenes = max(1, round(minutes * WORDS_PER_MINUTE / len(PARAGRAPH.split())))
    return Script("The Road of Life", "", "en",
                  tuple(Scene(i, f"Part {i + 1}. {PARAGRAPH}", "", "calm") for i in range(scenes)), "own-text")


def make_voiceover(script: Script, work: Path) -> float:
    """Piper reads `script` into work/voiceover.wav; its length in seconds."""
    narration = narrate(script, PiperTTS(VoiceStyle(), "en"), Cache(work / "voice-cache"), work / "voiceover.wav")
    shutil.rmtree(work / "voice-cache")
    return narration.duration


class StagePeaks:
    """Follows the job's progress events and files the sampled memory under the stage that was running."""

    def __init__(self, memory: TreeMemory) -> None:
        self.memory = memory
        self.stage = "setup"
        self.peaks: dict[str, float] = {}
        self.parts: dict[str, list[tuple[int, str]]] = {}

    def __call__(self, event: object) -> None:
        if isinstance(event, JobProgressed) and event.stage != self.stage:
            self.close()
            self.stage = event.stage

    def close(self) -> None:
        """Keep the running stage's peak and start a new one."""
        parts = self.memory.window_peak_parts
        peak = self.memory.take_peak()
        if peak >= self.peaks.get(self.stage, 0.0):
            self.peaks[self.stage], self.parts[self.stage] = peak, parts


def script_of_words(words: int) -> Script:
    """Scenes of the benchmark paragraph, `words` words in all with the title (the last paragraph cut to fit)."""
    title = "The Road of Life"
    paragraph = PARAGRAPH.split()
    scenes, left = [], words - len(title.split())
    while left > 0:
        text = f"Part {len(scenes) + 1}. " + " ".join(paragraph[:left - 2])
        scenes.append(Scene(len(scenes), text, "", "calm"))
        left -= len(text.split())
    return Script(title, "", "en", tuple(scenes), "own-text")


def measured_job(request: JobRequest, settings: object) -> tuple[StagePeaks, dict, float]:
    """Run one job under the memory sampler: its stage peaks, its manifest and its seconds."""
    began = time.perf_counter()
    with TreeMemory() as memory:
        peaks = StagePeaks(memory)
        artefacts = make(request, settings, peaks)
        peaks.close()
    return peaks, json.loads(artefacts.manifest.read_text()), time.perf_counter() - began


def main() -> None:
    """Make the voice-over (unless --words), then the job, and write the figures."""
    words = int(sys.argv[2]) if sys.argv[1:2] == ["--words"] else None
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 and words is None else 60.0
    work = Path(tempfile.mkdtemp(prefix="vf-bench-memory-"))
    settings = load_settings(data_dir=work / "data", output_dir=work / "output")
    script = script_of_words(words) if words else long_script(minutes)
    (work / "script.txt").write_text("\n\n".join([script.title, *(s.narration for s in script.scenes)]), encoding="utf-8")
    inputs: dict[str, object] = {"script_words": len((work / "script.txt").read_text().split())}
    if words is None:
        began = time.perf_counter()
        # In a process of its own: the voice-over stands for the user's file, its making is not the job's memory.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            voiceover_seconds = pool.submit(make_voiceover, script, work).result()
        inputs |= {"voiceover_minutes": round(voiceover_seconds / 60, 1),
                   "voiceover_made_by_piper_seconds": round(time.perf_counter() - began, 1)}
        request = JobRequest(topic="", preset="military-history", script_file=work / "script.txt",
                             voiceover=work / "voiceover.wav", exports=("youtube",))
    else:
        request = JobRequest(topic="", preset="military-history", script_file=work / "script.txt",
                             length="long", exports=("youtube",))
    peaks, manifest, made = measured_job(request, settings)
    result = {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        **inputs,
        "video_seconds": manifest["video_seconds"],
        "job_seconds": round(made, 1),
        "peak_memory_mb": {stage: round(mb) for stage, mb in peaks.peaks.items()},
        "peak_memory_mb_overall": round(max(peaks.peaks.values())),
        "largest_processes_at_each_peak_mb": peaks.parts,
        "target_peak_memory_mb": 1536,
    }
    out = ROOT / "bench" / "results" / ("memory-script.json" if words else "memory.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
