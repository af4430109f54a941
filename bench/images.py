"""Pictures through the token pool against a local inference server with 500 ms per picture.

40 pictures, 4 workers, 3 tokens: one runs out of quota after 10 calls, one is throttled once
(429, Retry-After 1 s). Throughput is compared with the bound 4 workers set (4 pictures per
0.5 s); every picture must arrive exactly once. Two timings: the generation calls alone (the pool,
InferenceClient, fitting and saving each picture), and the whole images stage (plus the preset's
colour grade, vignette and grain on every 1920x1080 still, and the cache).

Run: python bench/images.py   (writes bench/results/images.json)
Target: throughput at least 90% of the bound; no picture lost or made twice.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cache import Cache  # noqa: E402
from engine.hf import HFService  # noqa: E402
from engine.models import Shot  # noqa: E402
from engine.presets import load_preset  # noqa: E402
from engine.hf import FluxImages  # noqa: E402
from engine.stages.images import SIZE, paint_shots  # noqa: E402
from engine.store import Store  # noqa: E402
from engine.tokens import Token, TokenPool  # noqa: E402
from tests.hf_server import FakeHF  # noqa: E402

PICTURES, WORKERS, LATENCY = 40, 4, 0.5
TOKENS = ("hf_benchbenchbench0001", "hf_benchbenchbench0002", "hf_benchbenchbench0003")


def run(kind: str, folder: Path) -> dict[str, object]:
    """One batch of PICTURES through a fresh server and ledger; `kind` is "calls" or "stage"."""
    fake = FakeHF(latency=LATENCY)
    fake.plan(TOKENS[0], quota=10)
    fake.plan(TOKENS[1], "429:1")
    url = fake.start()
    try:
        pool = TokenPool([Token.of(t) for t in TOKENS], Store(f"sqlite:///{folder / f'{kind}.db'}"), 10.0)
        flux = FluxImages(pool, HFService(url, "auto", 30.0), "black-forest-labs/FLUX.1-schnell", 4, None, 0.001)
        preset = load_preset("military-history", None)
        shots = tuple(Shot(i, i, i, i + 1, f"picture number {i}", "zoom_in", "calm") for i in range(PICTURES))
        began = time.perf_counter()
        if kind == "calls":
            with ThreadPoolExecutor(WORKERS) as workers:
                list(workers.map(lambda s: flux.paint(s.prompt, preset, SIZE, folder / f"{s.index}.png"), shots))
        else:
            paint_shots(shots, preset, flux, Cache(folder / "cache"), WORKERS)
        seconds = time.perf_counter() - began
        answered = [c.body["inputs"] for c in fake.image_calls()]
        refused = [c.status for c in fake.image_calls(None) if c.status != 200]
        bound = WORKERS / LATENCY
        return {
            "seconds": round(seconds, 2),
            "pictures_per_second": round(PICTURES / seconds, 2),
            "bound_pictures_per_second": bound,
            "share_of_bound": round(PICTURES / seconds / bound, 3),
            "pictures_answered": len(answered),
            "distinct_pictures": len(set(answered)),
            "refusals": {str(s): refused.count(s) for s in sorted(set(refused))},
            "ledger": {row.fingerprint: {"state": row.state, "calls": row.calls} for row in pool.ledger()},
        }
    finally:
        fake.stop()


def main() -> None:
    """Both timings, printed and saved."""
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
            "setup": {"pictures": PICTURES, "workers": WORKERS, "latency_seconds": LATENCY, "tokens": len(TOKENS)},
            "generation_calls": run("calls", Path(tmp)),
            "images_stage": run("stage", Path(tmp)),
        }
    out = ROOT / "bench" / "results" / "images.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("generation_calls", "images_stage"):
        r = results[name]
        print(f"{name:<17} {r['seconds']:5.2f} s, {r['pictures_per_second']:.2f}/s = {r['share_of_bound']:.0%} of "
              f"{r['bound_pictures_per_second']:.0f}/s; {r['distinct_pictures']}/{PICTURES} pictures, "
              f"{r['pictures_answered']} answered; refusals {r['refusals']}; {r['ledger']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
