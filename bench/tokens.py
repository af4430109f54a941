"""The token choice, simulated: accounts with known credit, pictures until the pool pauses.

Each scenario runs the real TokenPool, FluxImages and huggingface_hub against the local server of
the tests, which answers like the hub (whoami-v2, billing usage-v2) and like an inference service
that charges each picture to its account and answers 402 when a free account's credit is gone.
Each scenario runs twice: with the hub's balances ("measured", this design) and with the hub not
answering ("ledger only", which is the old design: a fixed estimated cost per call against a budget).

Scenarios:
- equal: three accounts with the same credit, one token each. There is no difference to find, so
  the pictures should spread evenly.
- unequal: three accounts with $0.10, $0.05 and $0.01 left. The richest should be used first.
- shared: two tokens of one account and one of another, equal credit. The shared account must not
  count twice.
- payer: one account that can pay (it never answers 402) with a $0.05 budget. It must stop there.

Figures per scenario: pictures made, 402 refusals met, dollars charged per account, and dollars
charged past the credit or budget. Run: python bench/tokens.py   (writes bench/results/tokens.json)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from huggingface_hub import constants  # noqa: E402

from engine.hf import FluxImages, HFService, HubAccounts  # noqa: E402
from engine.presets import load_preset  # noqa: E402
from engine.stages.images import SIZE  # noqa: E402
from engine.store import Store  # noqa: E402
from engine.tokens import Token, TokenPool, TokensExhausted  # noqa: E402
from tests.hf_server import FakeHF  # noqa: E402

PRICE = 0.003  # what the server charges an account per picture
ESTIMATE = 0.002  # what the ledger books per picture (VF_IMAGE_COST_USD): a third too low, as estimates are
BUDGET = 0.05  # VF_HF_BUDGET_USD
MAX_PICTURES = 400
FIRST = 12  # the choice early on: with equal credit the pictures spread evenly, with unequal the richest leads
T = [f"hf_benchtokenbench{n:04d}" for n in range(1, 4)]

SCENARIOS: dict[str, dict] = {
    "equal": {"accounts": {T[0]: "a", T[1]: "b", T[2]: "c"}, "included": {"a": 0.05, "b": 0.05, "c": 0.05}},
    "unequal": {"accounts": {T[0]: "a", T[1]: "b", T[2]: "c"}, "included": {"a": 0.10, "b": 0.05, "c": 0.01}},
    "shared": {"accounts": {T[0]: "a", T[1]: "a", T[2]: "b"}, "included": {"a": 0.05, "b": 0.05}},
    "payer": {"accounts": {T[0]: "p"}, "included": {"p": 0.0}, "can_pay": {"p"}},
}


def _server(scenario: dict, hub_answers: bool) -> FakeHF:
    fake = FakeHF(price_usd=PRICE)
    fake.accounts.update(scenario["accounts"])
    fake.included_usd.update(scenario["included"])
    fake.can_pay.update(scenario.get("can_pay", ()))
    if not hub_answers:
        fake.hub_status.update({"whoami": 404, "usage": 404})
    fake.url = fake.start()
    constants.ENDPOINT = fake.url
    return fake


def run(name: str, hub_answers: bool, folder: Path) -> dict[str, object]:
    """Pictures one at a time until the pool pauses (or MAX_PICTURES)."""
    scenario = SCENARIOS[name]
    fake = _server(scenario, hub_answers)
    tokens = sorted(set(scenario["accounts"]))
    try:
        store = Store(f"sqlite:///{folder / f'{name}-{hub_answers}.db'}")
        pool = TokenPool([Token.of(t) for t in tokens], store, BUDGET, hub=HubAccounts(), measure_every=5)
        pool.identify()
        pool.measure()
        flux = FluxImages(pool, HFService(fake.url, "auto", 30.0), "black-forest-labs/FLUX.1-schnell", 4, None,
                          ESTIMATE, pixels=64 * 64)
        preset = load_preset("science", None)
        made = 0
        try:
            while made < MAX_PICTURES:
                flux.paint(f"picture {made}", preset, SIZE, folder / "p.png")
                made += 1
        except TokensExhausted:
            pass
        answered = fake.image_calls()
        by_account = Counter(fake.account(c.token) for c in answered)
        first = Counter(fake.account(c.token) for c in answered[:FIRST])
        charged = {account: round(count * PRICE, 4) for account, count in sorted(by_account.items())}
        allowed = {a: (BUDGET if a in scenario.get("can_pay", ()) else c) for a, c in scenario["included"].items()}
        over = sum(max(0.0, charged.get(a, 0.0) - limit) for a, limit in allowed.items())
        return {"pictures": made, "refusals_402": len(fake.image_calls(402)), "charged_usd": charged,
                f"first_{FIRST}_pictures_by_account": dict(sorted(first.items())),
                "charged_past_credit_or_budget_usd": round(over, 4),
                "pictures_possible": int(sum(allowed.values()) / PRICE + 1e-9)}
    finally:
        fake.stop()


def main() -> None:
    """Every scenario, measured and ledger-only, printed and saved."""
    results: dict[str, object] = {"machine": f"{os.uname().machine}, {os.cpu_count()} cores",
                                  "setup": {"price_usd": PRICE, "estimate_usd": ESTIMATE, "budget_usd": BUDGET}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCENARIOS:
            results[name] = {"measured": run(name, True, Path(tmp)), "ledger_only": run(name, False, Path(tmp))}
    out = ROOT / "bench" / "results" / "tokens.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in SCENARIOS:
        for kind, r in results[name].items():  # type: ignore[union-attr]
            print(f"{name:<8} {kind:<11} {r['pictures']:>3}/{r['pictures_possible']} pictures, "
                  f"402×{r['refusals_402']}, charged {r['charged_usd']}, past the limit "
                  f"${r['charged_past_credit_or_budget_usd']:.3f}; first {FIRST}: {r[f'first_{FIRST}_pictures_by_account']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
