"""How long one health-sensor tick takes at production volume — it must fit in 30 seconds.

Data (ops DB on SQLite; PostgreSQL too with --pg and META_AGENT_TEST_PG_URL):
- the current hour at --rate executions/minute (default 10,000/min = 600,000 rows) over
  --agents agents (default 20), with two incidents: one agent failing 80 % for the last
  10 minutes, one with latency ×3 all hour;
- the same hour on each of the 7 previous days at --history-rate (default 1,000/min): the
  source of every agent's baseline and traffic expectation.

Measured, as of "now" (the end of the current hour):
1. the first tick: baselines and traffic expectations computed, every circuit created and
   caught up over its 3-hour window (a one-off after a deploy or a sensor outage);
2. steady ticks: 30 s of new executions appended (rate/2 rows), then ``monitor.tick`` as
   of 30 s later — what the sensor does every 30 s; the median of --ticks ticks;
3. the same-run baseline: the naive way — fetch every row of the hour into pandas and
   aggregate there — against ``health.window_stats`` (aggregated in SQL), with the results
   compared for equality.

    .venv/bin/python benchmarks/bench_health.py [--rate 10000] [--agents 20] [--ticks 5] [--pg]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from pgscratch import scratch_database  # noqa: E402

from meta_agent.ops import health, monitor  # noqa: E402
from meta_agent.ops.monitoring_config import MonitoringConfig  # noqa: E402
from meta_agent.store import migrate  # noqa: E402
from meta_agent.store.engine import dispose_all, engine_for  # noqa: E402
from meta_agent.store.executions import register_agents  # noqa: E402
from meta_agent.store.schema import executions  # noqa: E402
from meta_agent.store.sql import bulk_insert  # noqa: E402

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # fixed: results do not depend on the wall clock
STATUSES = np.array(["success", "failure", "timeout", "cancelled"])
_seq = iter(range(10**12))


def rows_for(rng: np.random.Generator, agents: list[str], start: datetime, seconds: float, n: int,
             failing: str | None = None, fail_from: datetime | None = None, slow: str | None = None) -> list[dict]:
    offsets = np.sort(rng.uniform(0, seconds, size=n))
    who = rng.choice(len(agents), size=n, p=_weights(len(agents)))
    status = STATUSES[rng.choice(4, size=n, p=[0.97, 0.02, 0.005, 0.005])]
    latency = rng.lognormal(np.log(1500), 0.5, size=n)
    cost = rng.lognormal(np.log(0.004), 0.5, size=n)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        agent = agents[who[i]]
        t = start + timedelta(seconds=float(offsets[i]))
        st = str(status[i])
        lat = float(latency[i]) * (3.0 if agent == slow else 1.0)
        if agent == failing and fail_from is not None and t >= fail_from and rng.uniform() < 0.8:
            st = "failure"
        out.append({"execution_id": f"{next(_seq):016x}{uuid.uuid4().hex[:8]}", "agent_id": agent, "started_at": t,
                    "ended_at": t + timedelta(milliseconds=lat), "status": st, "latency_ms": lat,
                    "model": "gpt-4o-mini", "prompt_version": "v3", "variant": None, "tokens_in": 1000,
                    "tokens_out": 200, "cost_usd": float(cost[i]),
                    "error_type": {"failure": "ToolExecutionError", "timeout": "TimeoutError",
                                   "cancelled": "CancelledError"}.get(st),
                    "error_message": None, "human_intervention": False, "metadata": None, "source": "bench",
                    "ingested_at": now})
    return out


def _weights(k: int) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** 0.6  # a few busy agents, a long tail
    return w / w.sum()


def load(engine: sa.Engine, rows: list[dict], chunk: int = 50_000) -> None:
    for i in range(0, len(rows), chunk):
        part = rows[i:i + chunk]
        with engine.begin() as conn:
            register_agents(conn, part)
            bulk_insert(conn, executions, part, ignore_conflicts=False)


def naive_window(conn: sa.Connection, start: datetime, end: datetime, slow_over: dict[str, float]) -> dict:
    """The baseline: every row of the window into pandas, aggregated there."""
    e = executions.c
    rows = conn.execute(sa.select(e.agent_id, e.status, e.latency_ms, e.cost_usd)
                        .where(e.started_at > start, e.started_at <= end)).all()
    df = pd.DataFrame(rows, columns=["agent_id", "status", "latency_ms", "cost_usd"])
    df["done"] = df.status != "cancelled"
    df["failed"] = df.status.isin(["failure", "timeout"])
    df["ok"] = df.status == "success"
    df["slow"] = df.ok & (df.latency_ms > df.agent_id.map(slow_over))
    g = df.groupby("agent_id")
    return {a: (int(r.executions), int(r.n), int(r.failures), int(r.slow)) for a, r in pd.DataFrame({
        "executions": g.size(), "n": g.done.sum(), "failures": g.failed.sum(), "slow": g.slow.sum()}).iterrows()}


def run(url: str, label: str, args) -> None:
    migrate.upgrade(url)
    engine = engine_for(url)
    rng = np.random.default_rng(7)
    agents = [f"agent-{i:02d}" for i in range(args.agents)]
    t0 = time.perf_counter()
    hour = rows_for(rng, agents, NOW - timedelta(hours=1), 3600, args.rate * 60, failing=agents[0],
                    fail_from=NOW - timedelta(minutes=10), slow=agents[1])
    history = []
    for k in range(1, 8):
        history += rows_for(rng, agents, NOW - timedelta(days=k, hours=1), 3600, args.history_rate * 60)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    load(engine, history)
    load(engine, hour)
    load_s = time.perf_counter() - t0
    total = len(hour) + len(history)
    print(f"[{label}] data: {len(hour):,} executions in the last hour ({args.rate:,}/min) + {len(history):,} in "
          f"the same hour on 7 previous days ({args.history_rate:,}/min); {args.agents} agents; "
          f"{total:,} rows (generated in {gen_s:.1f}s, loaded in {load_s:.1f}s)")

    cfg = MonitoringConfig()
    cache = health.BaselineCache()
    first = monitor.tick(engine, NOW, monitoring=cfg, cache=cache)
    s = first.summary()
    print(f"[{label}] first tick (baselines + traffic expectations computed, {args.agents} circuits created and "
          f"caught up over 3 h): {first.seconds['total']:.2f}s  {first.seconds}")
    print(f"[{label}]   health {s['health']}; circuits {s['circuits']}; alerts created {s['alerts_created']}")

    steady = []
    at = NOW
    for _ in range(args.ticks):
        new = rows_for(rng, agents, at, 30, args.rate // 2, failing=agents[0], fail_from=NOW - timedelta(minutes=10),
                       slow=agents[1])
        load(engine, new)
        at += timedelta(seconds=30)
        r = monitor.tick(engine, at, monitoring=cfg, cache=cache)
        steady.append(r)
    totals = [r.seconds["total"] for r in steady]
    med = statistics.median(totals)
    parts = {k: round(statistics.median(r.seconds[k] for r in steady), 3) for k in ("health", "circuits", "alerts")}
    print(f"[{label}] steady tick (+{args.rate // 2:,} executions per 30 s, windows over "
          f"~{args.rate * 60:,} rows): median {med:.3f}s of {len(totals)} (min {min(totals):.3f}, "
          f"max {max(totals):.3f}) {parts} → {med / 30:.1%} of the 30 s sensor interval")

    with engine.connect() as conn:
        baselines = {a: health.baseline_for(conn, a, at, cfg.health_default) for a in agents}
        slow_over = {a: b.latency_p95_ms for a, b in baselines.items() if b and b.latency_p95_ms}
        t0 = time.perf_counter()
        ours = health.window_stats(conn, at - timedelta(hours=1), at, agents, slow_over)
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        naive = naive_window(conn, at - timedelta(hours=1), at, slow_over)
        naive_s = time.perf_counter() - t0
    same = all((w.executions, w.n, w.failures, w.slow) == naive.get(a, (0, 0, 0, 0)) for a, w in ours.items())
    print(f"[{label}] 1-hour window for the fleet: SQL aggregation {ours_s:.3f}s vs naive (rows → pandas) "
          f"{naive_s:.3f}s: ×{naive_s / ours_s:.1f}; identical counts: {same}")
    if not same:
        raise SystemExit("the SQL aggregation and the pandas baseline disagree")
    engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=int, default=10_000, help="executions per minute in the current hour")
    p.add_argument("--history-rate", type=int, default=1_000, help="executions per minute on previous days")
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--ticks", type=int, default=5)
    p.add_argument("--pg", action="store_true", help="also on PostgreSQL (META_AGENT_TEST_PG_URL)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-health-") as tmp:
        run(f"sqlite:///{Path(tmp) / 'ops.db'}", "sqlite", args)
    dispose_all()
    if args.pg:
        with scratch_database() as url:
            run(url, "postgresql", args)


if __name__ == "__main__":
    main()
