"""Improvement proposals on labelled fleets: the proposal made for each planted incident, its
expected effect with its interval, and the true effect of the incident.

    .venv/bin/python scripts/measure_proposals.py                 # held-out seeds 201 202 203
    .venv/bin/python scripts/measure_proposals.py --seeds 204 205 --json

Each incident is judged in its daily partition as the pipeline judges it (the window's
clusters, ``rootcause.find_root_causes``, then ``proposals.propose`` on that day's findings
with the executions up to that day and the fleet's prompt texts registered,
``meta_agent.fleet.prompts``); the true effect comes from the simulator's labels
(``meta_agent.improvement.measure`` defines it). Prints one line per incident — seed,
incident, category (and the one found), proposal kinds, the main proposal's expected effect
on the success rate with its 95 % interval, the true effect, inside? — and the coverage per
category (the goal: every prompt and tool incident inside). Seeds run in parallel (--jobs).
No assertion: figures.
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
from meta_agent.improvement import measure  # noqa: E402

AGENTS = 8  # labelled_fleet's default


def prompt_text(agent_id: str, name: str, version: str) -> str | None:
    """The fleet's registered texts (``meta_agent.fleet.prompts``), as the registry would give them."""
    return prompt_texts(agent_id, [version])[version]


def measure_seed(seed: int) -> list[measure.IncidentResult]:
    return measure.measure_fleet(labelled_fleet(seed, agents=AGENTS), {p.agent_id: p for p in fleet(AGENTS)},
                                 prompt_text=prompt_text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(measure.SEEDS), help="labelled fleet seeds")
    ap.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 3), help="seeds measured in parallel")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    if args.jobs > 1 and len(args.seeds) > 1:
        with ProcessPoolExecutor(min(args.jobs, len(args.seeds))) as pool:
            parts = list(pool.map(measure_seed, args.seeds))
    else:
        parts = [measure_seed(s) for s in args.seeds]
    results = [r for part in parts for r in part]
    if args.json:
        print(json.dumps(measure.to_json(results), indent=1, default=str))
    else:
        print(measure.table(results))
        print(f"\n{len(results)} incidents over seeds {' '.join(map(str, args.seeds))} in "
              f"{time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
