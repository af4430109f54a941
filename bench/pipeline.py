"""Make a 3-minute video offline from a fixed script; report per-stage seconds and peak memory.

Run: python bench/pipeline.py   (writes bench/results/pipeline.json)
     python bench/pipeline.py --minutes 20   (a 20-minute video in chapters from the offline outline, then its
     shorts, one per chapter; writes bench/results/pipeline-20min.json)
Targets on the 2-core build machine: total <= 0.5x the video's duration, peak memory <= 1.5 GB, and the
same job asked for again once done in under 2 s (all from the cache).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import load_settings
from engine.media import measure_loudness
from engine.models import JobRequest
from engine.runner import make

PARAGRAPH = (
    "In September 1941 the armies closed the last road into the city. Nearly three million people were "
    "trapped inside, with food for only a few weeks. The first winter was the hardest. Rations fell to a "
    "few slices of bread a day, and the temperature dropped far below freezing. "
    "Across the frozen lake, drivers risked their lives every night. Trucks carried flour in and carried "
    "children out, while shells broke the ice around them. "
)
SCRIPT = "The Road of Life\n\n" + "\n\n".join(f"Part {n}. {PARAGRAPH}" for n in range(1, 8))


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


class TreeMemory:
    """Samples the resident memory of a process (this one by default) and all its descendants (the ffmpeg workers)."""

    def __init__(self, root: int | None = None) -> None:
        self.root = root or os.getpid()
        self.peak_mb = 0.0
        self.window_peak_mb = 0.0  # since the last take_peak()
        self.window_peak_parts: list[tuple[int, str]] = []  # the biggest processes at that peak (MB, name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        root = self.root
        while not self._stop.wait(0.1):
            parents: dict[int, int] = {}
            rss: dict[int, int] = {}
            sizes: dict[int, int] = {}
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    parents[int(entry.name)] = int(fields[1])
                    rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
                    sizes[int(entry.name)] = int(fields[20])
                except (OSError, IndexError, ValueError):
                    continue
            tree, grew = {root}, True
            while grew:
                added = {pid for pid, parent in parents.items() if parent in tree} - tree
                tree |= added
                grew = bool(added)
            # A child caught between fork and exec (subprocess starting ffmpeg) shares its parent's memory and
            # shows the same virtual size: counting it would count the parent twice.
            tree = {pid for pid in tree if pid == root or sizes.get(pid) != sizes.get(parents.get(pid, -1))}
            now_mb = sum(rss.get(pid, 0) for pid in tree) / 2**20
            self.peak_mb = max(self.peak_mb, now_mb)
            if now_mb > self.window_peak_mb:
                self.window_peak_mb = now_mb
                self.window_peak_parts = sorted((round(rss.get(pid, 0) / 2**20), _name(pid)) for pid in tree)[::-1][:6]

    def take_peak(self) -> float:
        """The peak since the last call, and start a new window."""
        peak, self.window_peak_mb = self.window_peak_mb, 0.0
        return peak

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _requests(script: Path, minutes: int | None) -> tuple[JobRequest, JobRequest]:
    """The job measured (the master only) and the same job with its shorts."""
    if minutes:  # a long video in chapters, from the offline outline grown to that length
        job = JobRequest(topic="The Siege of Leningrad", preset="military-history", minutes=minutes, exports=("youtube",))
    else:
        job = JobRequest(topic="", preset="military-history", script_file=script, exports=("youtube",))
    return job, job.model_copy(update={"exports": ("youtube", "shorts")})


def main(argv: list[str]) -> None:
    """Run the pipeline once on a cold cache and write the figures."""
    minutes = int(argv[argv.index("--minutes") + 1]) if "--minutes" in argv else None
    work = Path(tempfile.mkdtemp(prefix="vf-bench-"))
    script = work / "script.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    settings = load_settings(data_dir=work / "data", output_dir=work / "output")
    # The caption font is cut once per data dir (about 9 s); a user pays it once, not per video.
    from engine.fonts import bold_font_dir

    bold_font_dir(settings.data_dir)
    job, with_shorts = _requests(script, minutes)
    began = time.perf_counter()
    with TreeMemory() as memory:
        # The master: exports are extra renders with their own cost, measured below.
        artefacts = make(job, settings)
    total = time.perf_counter() - began
    # The same job asked for again once it is done: everything comes from the cache.
    again_began = time.perf_counter()
    again = make(job, settings)
    rerun = time.perf_counter() - again_began
    assert again.folder != artefacts.folder
    shorts = None
    if minutes:  # the shorts, one per chapter: everything else comes from the cache
        shorts_began = time.perf_counter()
        made = make(with_shorts, settings)
        shorts = {"seconds": round(time.perf_counter() - shorts_began, 2), "count": len(made.exports)}
    result = _figures(artefacts, total, rerun, memory, shorts)
    name = f"pipeline-{minutes}min.json" if minutes else "pipeline.json"
    out = ROOT / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


def _figures(artefacts, total: float, rerun: float, memory: TreeMemory, shorts: dict | None) -> dict:  # noqa: ANN001
    manifest = json.loads(artefacts.manifest.read_text())
    script = json.loads((artefacts.folder / "script.json").read_text())
    ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    video_seconds = manifest["video_seconds"]
    loudness = measure_loudness(artefacts.video)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "video_seconds": video_seconds,
        "asked_minutes": manifest["inputs"].get("minutes"),
        "chapters": [[c["title"], c["start"]] for c in script.get("chapters", [])],
        "total_seconds": round(total, 2),
        "ratio_to_video": round(total / video_seconds, 3),
        "rerun_of_a_done_job_seconds": round(rerun, 2),
        "stage_seconds": manifest["stage_seconds"],
        "peak_memory_mb": {"pipeline_process": round(ours), "process_tree_sampled": round(memory.peak_mb)},
        "loudness": {"integrated_lufs": loudness.integrated_lufs, "true_peak_dbtp": loudness.true_peak_db},
        "backends": manifest["backends"],
        "targets": {"ratio_to_video": 0.5, "peak_memory_mb": 1536, "integrated_lufs": -14.0, "true_peak_dbtp": -1.0,
                    "rerun_of_a_done_job_seconds": 2.0},
    }
    if shorts:
        result["shorts_per_chapter"] = shorts | {
            "ratio_to_video_with_shorts": round((total + shorts["seconds"]) / video_seconds, 3)}
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
