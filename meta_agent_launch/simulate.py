"""``python -m meta_agent_launch.simulate REQUEST_ID --scenario KEY [...]``: a batch simulation
as a Dagster backfill, and one JSON line with how it went (``meta-agent simulate run --wait``
and the demo run this).

1. The request's and the scenarios' partitions, added when new.
2. One backfill: the request's ``script_plan`` and ``generated_script`` (with its blocking
   validity check) when it has no valid script yet, ``scenario_run`` over request × each
   scenario, and the request's ``scenario_comparison`` — Dagster orders them by their
   dependencies — driven to the end (``meta_agent_launch.backfill``), or only submitted
   (``--no-wait``) for a running daemon.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

import dagster as dg

from meta_agent import config
from meta_agent.scriptgen import repository as repo
from meta_agent.store.engine import engine_for
from meta_agent_defs.partitions import scenario_partitions, script_request_partitions
from meta_agent_defs.script_factory.assets import generated_script, script_plan
from meta_agent_defs.simulation.assets import scenario_comparison, scenario_run
from meta_agent_launch import backfill, instance


def grid(request_id: str, scenarios: Sequence[str], *, with_script: bool) -> dict[dg.AssetKey, list[str]]:
    """The backfill's partitions: the request's plan and script when it has no valid script yet,
    every request × scenario, and the request's comparison."""
    out: dict[dg.AssetKey, list[str]] = {}
    if with_script:
        out |= {script_plan.key: [request_id], generated_script.key: [request_id]}
    out[scenario_run.key] = [dg.MultiPartitionKey({"request": request_id, "scenario": s}) for s in scenarios]
    out[scenario_comparison.key] = [request_id]
    return out


def has_valid_script(request_id: str) -> bool:
    with engine_for(config.db_url()).connect() as conn:
        gen = repo.read_generation(conn, request_id)
    return bool(gen and gen["valid"])


def simulate(request_id: str, scenarios: Sequence[str], *, timeout_s: float = 1800, drive: bool = True) -> dict:
    """Submit the grid's backfill (and, with ``drive``, see it to the end)."""
    inst = instance()
    for name, keys in ((script_request_partitions.name, [request_id]), (scenario_partitions.name, list(scenarios))):
        new = [k for k in keys if not inst.has_dynamic_partition(name, k)]
        if new:
            inst.add_dynamic_partitions(name, new)
    # Not tagged meta_agent/kind=script_run: the plan and comparison runs would take script-run
    # queue slots; the sandbox pool bounds the scripts themselves.
    backfill_id = backfill.submit(grid(request_id, scenarios, with_script=not has_valid_script(request_id)),
                                  tags={"meta_agent/capability": "simulation"},
                                  title=f"simulate {request_id} × {len(scenarios)} scenarios")
    out = {"request_id": request_id, "scenarios": list(scenarios), "backfill_id": backfill_id}
    if drive:
        out["backfill"] = asdict(backfill.drive(backfill_id, timeout_s=timeout_s))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m meta_agent_launch.simulate", description=__doc__)
    ap.add_argument("request_id")
    ap.add_argument("--scenario", action="append", required=True, help="a scenario key (repeat for the grid)")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--no-wait", action="store_true", help="submit the backfill and return (a daemon runs it)")
    args = ap.parse_args(argv)
    out = simulate(args.request_id, args.scenario, timeout_s=args.timeout, drive=not args.no_wait)
    print(json.dumps(out, default=str))
    b = out.get("backfill")
    return 0 if b is None or (b["failed"] == 0 and b["runs"] > 0) else 1


if __name__ == "__main__":
    sys.exit(main())
