"""The auto-approval rules on a generated batch of proposals: how many low-risk proposals the
rules of ``config/approvals.yaml`` approve (the roadmap's target: 85-95 %), and how many
high-risk ones go to a person (the target: all).

    .venv/bin/python scripts/measure_approvals.py                    # seeds 201-209, the shipped rules
    .venv/bin/python scripts/measure_approvals.py --seeds 201 202 --rules my-approvals.yaml --json

The batch is what the pipeline would store: every labelled fleet (``meta_agent.fleet.labelled``)
judged on each incident's window end (findings, then ``proposals.propose``, as
``scripts/measure_proposals.py`` does), and each seed's proposals merged by ``dedup_key`` (the
store keeps one row per key). The rates are ``approvals.rates`` — the same function the
``proposal_decisions`` asset reports. Prints the rates by risk, by rule, what stopped the
low-risk proposals left to a person, and one line per proposal. No assertion: figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meta_agent.fleet.labelled import labelled_fleet  # noqa: E402
from meta_agent.fleet.profiles import fleet  # noqa: E402
from meta_agent.fleet.prompts import prompt_texts  # noqa: E402
from meta_agent.improvement import approvals, measure  # noqa: E402

AGENTS = 8
SEEDS = tuple(range(201, 210))


def prompt_text(agent_id: str, name: str, version: str) -> str | None:
    return prompt_texts(agent_id, [version])[version]


def seed_batch(seed: int) -> list[dict]:
    made: list = []
    measure.measure_fleet(labelled_fleet(seed, agents=AGENTS), {p.agent_id: p for p in fleet(AGENTS)},
                          prompt_text=prompt_text, made=made)
    rows: dict[str, dict] = {}
    for p in made:  # one row per dedup_key, as the store merges them
        rows.setdefault(p.dedup_key, {**p.to_dict(), "seed": seed})
    return list(rows.values())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="labelled fleet seeds")
    ap.add_argument("--rules", type=Path, default=approvals.rules_path(), help="the approval rules file")
    ap.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 3), help="seeds in parallel")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rules = approvals.load_rules(args.rules)
    t = time.perf_counter()
    with ProcessPoolExecutor(max(1, min(args.jobs, len(args.seeds)))) as pool:
        rows = [r for part in pool.map(seed_batch, args.seeds) for r in part]
    rates = approvals.rates(rows, rules)
    lines = []
    for r in sorted(rows, key=lambda r: (r["risk"], r["kind"], r["seed"])):
        verdict = approvals.match(rules, r)
        lines.append({"seed": r["seed"], "proposal": r["proposal_id"], "kind": r["kind"], "risk": r["risk"],
                      "confidence": round(r["confidence"], 3),
                      "traffic_share": (r["blast_radius"] or {}).get("traffic_share"),
                      "agents": len((r["blast_radius"] or {}).get("agents") or r["agents"]),
                      "decision": f"auto:{verdict.rule}" if verdict.rule else "a person",
                      "why": "; ".join(verdict.reasons)[:160]})
    if args.json:
        print(json.dumps({"seeds": args.seeds, "rates": rates, "proposals": lines}, indent=1, default=str))
        return 0
    for ln in lines:
        print(f"{ln['seed']}  {ln['proposal']}  {ln['kind']:<16} {ln['risk']:<6} conf {ln['confidence']:.2f}  "
              f"traffic {ln['traffic_share'] if ln['traffic_share'] is None else round(ln['traffic_share'], 3)}  "
              f"{ln['decision']:<28} {ln['why']}")
    low, high = rates["low_risk_auto_rate"], rates["high_risk_to_a_person_share"]
    print(f"\n{rates['proposals']} proposals over seeds {' '.join(map(str, args.seeds))} in "
          f"{time.perf_counter() - t:.0f} s; by risk: {json.dumps(rates['by_risk'])}")
    print(f"low risk auto-approved: {rates['low_risk_auto_approved']}/{rates['low_risk_proposals']}"
          f" = {'-' if low is None else f'{low:.1%}'} (target 85-95 %); by rule {rates['by_rule']}")
    print(f"low risk left to a person, stopped by: {rates['low_risk_stopped_by']}")
    print(f"high risk to a person: {rates['high_risk_to_a_person']}/{rates['high_risk_proposals']}"
          f" = {'-' if high is None else f'{high:.0%}'} (target 100 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
