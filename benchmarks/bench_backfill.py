"""A batch simulation as a Dagster backfill: 10 scenarios for one request, with the ``sandbox``
pool at 5 and at 1 (the baseline), in the same run.

For each pool limit a child process gets a scratch ``DAGSTER_HOME`` (its ``dagster.yaml`` is
the project's with ``concurrency.pools.default_limit`` set), its own ops database, portfolio
and artifacts, records one request and ten scenarios (the six shipped files plus four NOI /
rate variants), submits the backfill over request × scenario plus the comparison
(``meta_agent_launch.simulate``) and drives it with the daemon loops. It reports the wall
time, the number of runs, how many ``scenario_run`` steps ran at once at most (from the event
log; never above the pool's limit), and how many runs were in flight at once — launched, their
process loading the code location or running — so a limit of 1 is seen to bound steps, not runs.

    .venv/bin/python benchmarks/bench_backfill.py [--limits 5,1] [--runner local] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import yaml

from meta_agent import config, portfolio
from meta_agent.scriptgen import repository as repo
from meta_agent.simulation import catalog
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for
from meta_agent_launch.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
EXTRA = {
    "noi_minus_10": {"name": "NOI -10 %", "parameters": {"noi_multiplier": 0.9}},
    "noi_minus_5": {"name": "NOI -5 %", "parameters": {"noi_multiplier": 0.95}},
    "rates_plus_100": {"name": "Rates +100 bp", "parameters": {"interest_rate_shift_bps": 100}},
    "rates_plus_200": {"name": "Rates +200 bp", "parameters": {"interest_rate_shift_bps": 200}},
}
REQUEST = "DSCR and cap rate for all properties"


def child(limit: int) -> dict:
    """Runs in a scratch environment set up by ``main`` (environment variables)."""
    portfolio.seed_database()
    migrate.upgrade(config.db_url())
    engine = engine_for(config.db_url())
    report = catalog.sync_directory(engine, config.scenarios_dir())
    with engine.begin() as conn:
        rid = repo.submit_request(conn, REQUEST, source="test")["request_id"]
    t0 = time.perf_counter()
    out = simulate(rid, sorted(report.scenarios))
    wall = time.perf_counter() - t0
    return {"limit": limit, "scenarios": len(report.scenarios), "wall_s": wall, **out["backfill"],
            "runs_in_flight": runs_in_flight(out["backfill"]["run_ids"])}


def runs_in_flight(run_ids: list[str]) -> int:
    inst = dg.DagsterInstance.get()
    edges = []
    for rid in run_ids:
        stats = inst.get_run_stats(rid)  # launched (its process starting) until it ended
        if (stats.launch_time or stats.start_time) and stats.end_time:
            edges += [(stats.launch_time or stats.start_time, 1), (stats.end_time, -1)]
    running = peak = 0
    for _, change in sorted(edges, key=lambda e: (e[0], e[1])):
        running += change
        peak = max(peak, running)
    return peak


def run_limit(limit: int, runner: str) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"bench-backfill-{limit}-"))
    try:
        cfg = yaml.safe_load((ROOT / "dagster_home" / "dagster.yaml").read_text())
        cfg.setdefault("concurrency", {}).setdefault("pools", {})["default_limit"] = limit
        (home / "dagster.yaml").write_text(yaml.safe_dump(cfg))
        scenarios = home / "scenarios"
        shutil.copytree(ROOT / "scenarios", scenarios, ignore=shutil.ignore_patterns("*.md"))
        for key, body in EXTRA.items():
            (scenarios / f"{key}.yaml").write_text(yaml.safe_dump({"scenario": body}))
        env = {**os.environ, "DAGSTER_HOME": str(home), "META_AGENT_SCENARIOS_DIR": str(scenarios),
               "META_AGENT_RUNNER": runner, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        for var in ("META_AGENT_DB_URL", "META_AGENT_DATA_URL", "META_AGENT_ARTIFACTS"):
            env.pop(var, None)  # the scratch home's defaults
        proc = subprocess.run([sys.executable, __file__, "--child", str(limit)], env=env, capture_output=True,
                              text=True, timeout=3600)
        line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("{")), None)
        if line is None:
            raise SystemExit(f"limit {limit}: the child failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(line)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limits", default="5,1", help="pool limits to measure, the first is the target")
    ap.add_argument("--runner", default="local", help="META_AGENT_RUNNER for the scripts (local, container, auto)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child), default=str))
        return
    results = [run_limit(int(x), args.runner) for x in args.limits.split(",")]
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return
    base = results[-1]["wall_s"]
    print(f"bench_backfill: one request × {results[0]['scenarios']} scenarios + its comparison as one backfill "
          f"(runner {args.runner}, {os.cpu_count()} cores)")
    print(f"{'pool limit':>10} {'wall s':>8} {'runs':>5} {'ok':>4} {'failed':>6} {'steps at once (max)':>20} "
          f"{'runs in flight (max)':>21} {'vs last':>8}")
    for r in results:
        print(f"{r['limit']:>10} {r['wall_s']:>8.1f} {r['runs']:>5} {r['succeeded']:>4} {r['failed']:>6} "
              f"{r['max_concurrent_steps']:>20} {r['runs_in_flight']:>21} {base / r['wall_s']:>7.2f}x")
    over = [r for r in results if r["max_concurrent_steps"] > r["limit"]]
    print("no scenario_run step outside the pool: " + ("yes" if not over else f"NO ({over})"))


if __name__ == "__main__":
    main()
