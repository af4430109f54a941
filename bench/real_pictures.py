"""Which share of a documentary's shots the archives serve, and what footage costs the job (a one-minute script).

Run: python bench/real_pictures.py   (writes bench/results/real-pictures.json)
The archives are the tests' local stand-ins (tests/picture_servers.py) holding the tests' mixed-licence
Leningrad set plus stock photos and clips, so the figures measure our chain (gate, relevance, no
picture twice, fallback, footage) and not what the real services hold for a topic. One job with
`commons,openverse` and one with `pexels-video,commons,openverse`, each in a fresh data folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.stages.test_sources import LENINGRAD  # noqa: E402
from tests.picture_servers import Item, PictureServers  # noqa: E402

SCRIPT = """The Road of Life

In September 1941 German and Finnish armies closed the ring around Leningrad. Bread was rationed to a few slices a day.

In November 1942 the siege was in its second winter. Trucks crossed Lake Ladoga on the ice road, the only way into the city.

Drivers kept their doors open on the ice, ready to jump if a truck broke through. Many never reached the other shore.

In the city, families queued for bread in the snow. Street by street, Leningrad held on.

In January 1944 the Red Army broke the siege at last, after 872 days.

Today a memorial to the siege of Leningrad stands by the lake, where the ice road began.
"""
EXTRA = [Item("commons", "ring", "Leningrad front 1941", "German and Finnish armies around Leningrad, map of the ring",
              "Unknown", "Public domain"),
         Item("commons", "bread", "Bread ration card Leningrad", "Leningrad bread ration of the siege", "Museum", "CC0"),
         Item("openverse", "drivers", "Ice road truck drivers", "drivers trucks ice lake ladoga road", "Pavel", "by 4.0"),
         Item("commons", "liberation", "Lifting of the siege of Leningrad 1944", "Red Army breaks the siege of Leningrad",
              "Unknown", "Public domain")]
CLIPS = [Item("pexels-video", "ice-road", "Trucks on the ice road of Lake Ladoga",
              "trucks crossing the frozen Lake Ladoga ice road in the siege of Leningrad", "Mark", "",
              width=1920, height=1080, seconds=8),
         Item("pexels-video", "memorial", "Memorial of the siege of Leningrad by the lake",
              "memorial to the siege of Leningrad by Lake Ladoga", "Sofia", "", width=1920, height=1080, seconds=10)]


def one_job(servers: PictureServers, sources: str) -> dict:
    """Make the Ice Road script with these sources; where each shot's picture came from, and the stages' seconds."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "ice.txt").write_text(SCRIPT, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VF_")} | servers.env() | {
            "VF_DATA_DIR": str(root / "data"), "VF_OUTPUT_DIR": str(root / "output"), "VF_IMAGE_SOURCES": sources}
        began = time.perf_counter()
        made = subprocess.run([sys.executable, "-m", "engine.cli", "make", "--script-file", "ice.txt", "--preset",
                               "military-history", "--export", "youtube"], env=env, cwd=root, capture_output=True,
                              text=True, check=True)
        seconds = time.perf_counter() - began
        out = Path(made.stdout.splitlines()[0])
        script, manifest = json.loads((out / "script.json").read_text()), json.loads((out / "job.json").read_text())
    shots = sum(len(scene["shots"]) for scene in script["scenes"])
    by_source = Counter(credit["source"] for credit in script["credits"])
    by_source["painted"] = shots - sum(by_source.values())
    return {"sources": sources, "shots": shots, "share": {k: round(v / shots, 3) for k, v in by_source.items()},
            "footage_shots": sum(credit.get("footage", False) for credit in script["credits"]),
            "job_seconds": round(seconds, 1), "stage_seconds": manifest["stage_seconds"],
            "video_seconds": script["duration"]}


def main() -> None:
    """Both jobs; the figures printed and written."""
    servers = PictureServers(items=[*LENINGRAD, *EXTRA, *CLIPS])
    servers.start()
    try:
        results = {"jobs": [one_job(servers, "commons,openverse"), one_job(servers, "pexels-video,commons,openverse")]}
    finally:
        servers.stop()
    for job in results["jobs"]:
        print(f"{job['sources']:<32} {job['shots']} shots: {job['share']}  footage {job['footage_shots']}  "
              f"job {job['job_seconds']} s  (sources {job['stage_seconds'].get('sources')} s, "
              f"images {job['stage_seconds'].get('images')} s, render {job['stage_seconds'].get('render')} s)")
    out = ROOT / "bench" / "results" / "real-pictures.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
