"""The daily pipeline at scale: validate + aggregate + SLA for one UTC day of 1,000,000
executions, the old path (``legacy_daily.py``: the day read row by row, great-expectations
on a pandas copy, per-agent attribution reads) beside today's (the suite pushed down into
SQL; the metrics as SQL counts and sums plus exact per-agent arrays for the percentiles and
the cost; SLA attribution as per-agent arrays plus a top-N fetched by key; on SQLite along
the covering index ``ix_executions_agent_day``, on PostgreSQL through ADBC) in the same run,
on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_daily_pipeline.py [--rows 1000000] [--agents 50] [--bad 10]
        [--repeat 3] [--pg URL | with META_AGENT_TEST_PG_URL set] [--no-sqlite]

Goal: < 5 s end to end per database. Prints each stage and the sum, best of --repeat, for
both paths, the ratio and the data size; then checks that both paths wrote the same rows
(rejections, quality results, metrics, SLA verdicts and attribution). The SLA file is the
repo's config/slas.yaml: every agent of this fleet spends far above its daily cost budget,
so every agent is flagged and attributed — the SLA stage's worst case.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import legacy_daily  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from daydata import DAY, populate, populate_postgres  # noqa: E402
from pgscratch import scratch_database  # noqa: E402

from meta_agent.ops import metrics, quality, sla  # noqa: E402
from meta_agent.store import migrate  # noqa: E402
from meta_agent.store.engine import dispose_all, engine_for  # noqa: E402

STAGES = ("validate", "aggregate", "sla")
FLOAT_METRICS = ("success_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "cost_usd",
                 "cost_per_success_usd", "human_intervention_rate")


def run_path(path: str, engine: sa.Engine, suite: quality.ExecutionSuite, day: date) -> tuple[dict, dict]:
    mod = legacy_daily if path == "old" else None
    t = {}
    t0 = time.perf_counter()
    q = (mod.validate_day if mod else quality.validate_day)(engine, day, suite)
    t["validate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = (mod.aggregate_day if mod else metrics.aggregate_day)(engine, day)
    t["aggregate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ev = (mod.evaluate_day if mod else sla.evaluate_day)(engine, day)
    t["sla"] = time.perf_counter() - t0
    return t, snapshot(engine, day, q, m, ev)


def snapshot(engine: sa.Engine, day: date, q, m, ev) -> dict:
    with engine.connect() as conn:
        rejections = {(r["execution_id"], r["expectation"], r["detail"]) for r in quality.rejections_for_day(conn, day)}
        stored = quality.quality_for_day(conn, day)
        stored_metrics = {r["agent_id"]: r for r in metrics.read_metrics(conn, day)}
        stored_ev = {(r["agent_id"], r["metric"]): r for r in sla.evaluations_for_day(conn, day)}
    with engine.begin() as conn:
        agents = conn.exec_driver_sql("SELECT agent_id, first_seen_at, last_seen_at FROM agents").all()
        conn.exec_driver_sql("DELETE FROM agents")  # each path registers the day's agents afresh
    return {"quality": (q.rows_checked, q.rows_rejected, q.new_agents, q.results), "stored_quality": stored["results"],
            "rejections": rejections, "metrics": stored_metrics, "evaluations": stored_ev,
            "agents": sorted(agents), "executions": m.executions}


def compare(old: dict, new: dict) -> tuple[list[str], float]:
    """What differs between the two paths' rows ([] when identical; cost sums within 1e-12)."""
    diffs = []
    for k in ("quality", "stored_quality", "rejections", "agents", "executions"):
        if old[k] != new[k]:
            diffs.append(f"{k} differ")
    worst_cost = 0.0
    if set(old["metrics"]) != set(new["metrics"]):
        diffs.append("metric agents differ")
    for a, o in old["metrics"].items():
        n = new["metrics"].get(a, {})
        for k, v in o.items():
            if k == "computed_at":
                continue
            if k in ("cost_usd", "cost_per_success_usd") and v is not None and n.get(k) is not None:
                worst_cost = max(worst_cost, abs(v - n[k]) / max(abs(v), 1e-300))
            elif n.get(k) != v:
                diffs.append(f"metric {a}.{k}: {v!r} vs {n.get(k)!r}")
    if worst_cost > 1e-12:
        diffs.append(f"cost sums differ by {worst_cost:.1e} (relative)")
    if set(old["evaluations"]) != set(new["evaluations"]):
        diffs.append("evaluated (agent, metric) pairs differ")
    for key, o in old["evaluations"].items():
        n = new["evaluations"].get(key, {})
        for k in ("status", "limit_value", "limit_source", "attribution"):
            if n.get(k) != o[k]:
                diffs.append(f"SLA {key}.{k} differs")
        if o["actual"] and abs(o["actual"] - n.get("actual", 0)) / abs(o["actual"]) > 1e-12:
            diffs.append(f"SLA {key}.actual {o['actual']!r} vs {n.get('actual')!r}")
    return diffs, worst_cost


def bench(name: str, url: str, size: str, args) -> None:
    engine = engine_for(url)
    suite = quality.ExecutionSuite()
    t0 = time.perf_counter()
    _ = suite.suite  # the GX context, built once per run by the Dagster asset: not timed below
    gx_build = time.perf_counter() - t0
    print(f"\n== {name}: {size}; GX context built in {gx_build:.1f} s (once per run, untimed)")
    times = {"old": [], "new": []}
    snaps = {}
    for _ in range(args.repeat):
        for path in ("old", "new"):
            t, snaps[path] = run_path(path, engine, suite, DAY)
            times[path].append(t)
    diffs, worst_cost = compare(snaps["old"], snaps["new"])
    q = snaps["new"]["quality"]
    flagged = sum(1 for r in snaps["new"]["evaluations"].values() if r["status"] != "ok")
    print(f"rows checked {q[0]:,}, rejected {q[1]:,}; {snaps['new']['executions']:,} executions aggregated "
          f"over {len(snaps['new']['metrics'])} agents; {flagged} SLA verdicts warn/breach (attributed)")
    print(f"{'stage':<12}{'old (s)':>10}{'new (s)':>10}{'old/new':>10}   best of {args.repeat}")
    for s in STAGES:
        o, n = min(t[s] for t in times["old"]), min(t[s] for t in times["new"])
        print(f"{s:<12}{o:>10.2f}{n:>10.2f}{o / n:>9.1f}x")
    o = min(sum(t.values()) for t in times["old"])
    n = min(sum(t.values()) for t in times["new"])
    print(f"{'end to end':<12}{o:>10.2f}{n:>10.2f}{o / n:>9.1f}x   goal < 5 s: {'met' if n < 5 else 'NOT met'}")
    print(f"same rows written by both paths: {'yes' if not diffs else 'NO: ' + '; '.join(diffs[:8])} "
          f"(cost sums: max relative difference {worst_cost:.1e}; the new path sums exactly)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--bad", type=int, default=10, help="bad rows of each kind the suite catches")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", default=os.environ.get("META_AGENT_TEST_PG_URL"),
                    help="PostgreSQL server URL (default: META_AGENT_TEST_PG_URL); a scratch database is created")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    print(f"one UTC day ({DAY}) of {args.rows:,} executions, {args.agents} agents, "
          f"{args.bad} bad rows of each kind")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="bench-daily-") as tmp:
            db = Path(tmp) / "ops.db"
            url = f"sqlite:///{db}"
            migrate.upgrade(url)
            secs = populate(db, args.rows, args.agents, bad=args.bad)
            bench("SQLite", url, f"{db.stat().st_size / 2**20:.0f} MiB file, written in {secs:.0f} s", args)
            dispose_all()
    if args.pg:
        with scratch_database(args.pg, prefix="bench_daily") as url:
            migrate.upgrade(url)
            secs = populate_postgres(url, args.rows, args.agents, bad=args.bad)
            with engine_for(url).connect() as conn:
                mib = conn.exec_driver_sql("SELECT pg_total_relation_size('executions')").scalar() / 2**20
            bench("PostgreSQL", url, f"executions {mib:.0f} MiB with indexes, written in {secs:.0f} s", args)
    elif not args.no_sqlite:
        print("\n(PostgreSQL skipped: pass --pg URL or set META_AGENT_TEST_PG_URL)")


if __name__ == "__main__":
    main()
