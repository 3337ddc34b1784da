"""SDK logging throughput and per-call overhead, beside a naive one-insert-per-action logger.

    .venv/bin/python benchmarks/bench_logger.py [--actions 1000000] [--per-execution 50] [--db-url URL]

Figures printed:
- per-call overhead the agent sees (µs per ``log_action``, measured in the agent's thread
  while the background writer is running);
- end-to-end throughput: actions per second from the first call until every row is committed;
- the same for a naive logger that INSERTs and commits each action as it is logged, measured
  in the same run on a smaller sample (it is orders of magnitude slower), and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from meta_agent.sdk import AgentLogger
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for
from meta_agent.store.schema import actions, executions


def bench_sdk(url: str, n_actions: int, per_exec: int) -> dict:
    logger = AgentLogger(url, spill_dir=Path(tempfile.mkdtemp()), flush_interval=0.2)
    n_exec = n_actions // per_exec
    call_time = 0.0
    t0 = time.perf_counter()
    agent = logger.agent("bench-agent", model="gpt-4o-mini", prompt_version="v1")
    for _ in range(n_exec):
        with agent.execution() as ex:
            c0 = time.perf_counter()
            for _ in range(per_exec):
                ex.tool_call("search_kb", latency_ms=1.5)
            call_time += time.perf_counter() - c0
    enqueued = time.perf_counter()
    logger.close()  # waits for the background writer to commit everything
    done = time.perf_counter()
    with engine_for(url).connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(actions)).scalar_one()
    assert stored >= n_exec * per_exec, "the benchmark lost actions"
    return {"actions": n_exec * per_exec, "executions": n_exec, "per_call_us": call_time / (n_exec * per_exec) * 1e6,
            "agent_side_s": enqueued - t0, "end_to_end_s": done - t0,
            "actions_per_s": n_exec * per_exec / (done - t0), "stats": logger.stats}


def bench_naive(url: str, n_actions: int, per_exec: int) -> dict:
    """What a straightforward logger does: one INSERT + COMMIT per action, in the agent's thread."""
    engine = engine_for(url)
    n_exec = max(1, n_actions // per_exec)
    t0 = time.perf_counter()
    for e in range(n_exec):
        eid = f"naive-{e}"
        started = datetime.now(UTC)
        for seq in range(per_exec):
            with engine.begin() as conn:
                conn.execute(actions.insert().values(
                    execution_id=eid, seq=seq, action_type="tool_call", name="search_kb",
                    started_at=datetime.now(UTC), latency_ms=1.5, status="success"))
        with engine.begin() as conn:
            conn.execute(executions.insert().values(
                execution_id=eid, agent_id="naive-agent", started_at=started, ended_at=datetime.now(UTC),
                status="success", latency_ms=1.0, ingested_at=datetime.now(UTC)))
    elapsed = time.perf_counter() - t0
    total = n_exec * per_exec
    return {"actions": total, "end_to_end_s": elapsed, "actions_per_s": total / elapsed,
            "per_call_us": elapsed / total * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actions", type=int, default=1_000_000)
    ap.add_argument("--naive-actions", type=int, default=5_000)
    ap.add_argument("--per-execution", type=int, default=50)
    ap.add_argument("--db-url", default=None, help="default: a fresh SQLite file")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-logger-"))
    sdk_url = args.db_url or f"sqlite:///{tmp / 'sdk.db'}"
    naive_url = args.db_url or f"sqlite:///{tmp / 'naive.db'}"
    for url in {sdk_url, naive_url}:
        migrate.upgrade(url)

    sdk = bench_sdk(sdk_url, args.actions, args.per_execution)
    naive = bench_naive(naive_url, args.naive_actions, args.per_execution)
    db = "SQLite (WAL, synchronous=NORMAL)" if sdk_url.startswith("sqlite") else sa.engine.make_url(sdk_url).get_backend_name()

    print(f"bench_logger: {db}; {args.per_execution} actions per execution")
    print(f"  AgentLogger : {sdk['actions']:>9,} actions / {sdk['executions']:,} executions "
          f"in {sdk['end_to_end_s']:.2f} s end to end -> {sdk['actions_per_s']:,.0f} actions/s committed")
    print(f"                per-call overhead in the agent's thread: {sdk['per_call_us']:.2f} µs "
          f"(agent-side total {sdk['agent_side_s']:.2f} s)")
    print(f"  naive       : {naive['actions']:>9,} actions, one INSERT+COMMIT each, in {naive['end_to_end_s']:.2f} s "
          f"-> {naive['actions_per_s']:,.0f} actions/s, {naive['per_call_us']:.0f} µs per call")
    print(f"  ratio       : throughput x{sdk['actions_per_s'] / naive['actions_per_s']:,.0f}, "
          f"per-call overhead /{naive['per_call_us'] / sdk['per_call_us']:,.0f}")
    goal_ok = sdk["actions_per_s"] >= 100_000 and sdk["per_call_us"] < 20
    print(f"  goal (>=100,000 actions/s, <20 µs per call): {'met' if goal_ok else 'NOT met'}")


if __name__ == "__main__":
    main()
