"""Generated executions for the agent-ops tests, and an independent (numpy) computation of
the daily metrics to pin the polars implementation against."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from meta_agent.store.schema import executions
from meta_agent.store.sql import bulk_insert

STATUSES = ("success", "failure", "timeout", "cancelled")
ERRORS = ("RateLimitError", "ToolExecutionError", None)


def execution(agent: str, started: datetime, *, status: str = "success", latency_ms: float = 1000.0,
              tokens_in: int = 100, tokens_out: int = 10, cost_usd: float = 0.01, error_type: str | None = None,
              human: bool = False, model: str = "gpt-4o-mini", prompt_version: str = "v1", **extra) -> dict:
    row = {
        "execution_id": extra.pop("execution_id", None) or uuid.uuid4().hex,
        "agent_id": agent, "started_at": started, "ended_at": started + timedelta(milliseconds=latency_ms),
        "status": status, "latency_ms": latency_ms, "model": model, "prompt_version": prompt_version,
        "variant": None, "tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": cost_usd,
        "error_type": error_type, "error_message": None, "human_intervention": human, "metadata": None,
        "source": "test", "ingested_at": datetime.now(UTC),
    }
    row.update(extra)
    return row


def generate(day: date, agents: dict[str, int], seed: int = 0, *, neighbours: bool = True) -> list[dict]:
    """``agents`` maps agent id → executions on ``day``; statuses, latencies, tokens, costs,
    error types and human flags drawn at random. With ``neighbours`` a few executions sit
    just outside the day (previous 23:59:59.999999, next 00:00:00) to pin day assignment."""
    rng = np.random.default_rng(seed)
    midnight = datetime.combine(day, time(), UTC)
    rows = []
    for agent, n in agents.items():
        status = rng.choice(STATUSES, size=n, p=[0.8, 0.1, 0.05, 0.05])
        secs = rng.uniform(0, 86400 - 1e-3, size=n)
        lat = rng.lognormal(7, 0.8, size=n).round(3)
        for i in range(n):
            st = str(status[i])
            rows.append(execution(
                agent, midnight + timedelta(seconds=float(secs[i])), status=st, latency_ms=float(lat[i]),
                tokens_in=int(rng.integers(0, 5000)), tokens_out=int(rng.integers(0, 900)),
                cost_usd=float(rng.uniform(0, 0.05)),
                error_type=ERRORS[int(rng.integers(0, 3))] if st in ("failure", "timeout") else
                ("CancelledError" if st == "cancelled" else None),
                human=bool(rng.uniform() < 0.1), prompt_version=f"v{int(rng.integers(1, 3))}"))
        if neighbours:
            rows.append(execution(agent, midnight - timedelta(microseconds=1), status="failure", latency_ms=9e6))
            rows.append(execution(agent, midnight + timedelta(days=1), status="failure", latency_ms=9e6))
    return rows


def insert(engine: sa.Engine, rows: list[dict]) -> None:
    with engine.begin() as conn:
        bulk_insert(conn, executions, rows)


def flag_everything(tmp_path: Path, max_daily_cost_usd: str) -> Path:
    """An SLA file whose default thresholds every generated agent misses (the cost threshold
    as YAML text)."""
    p = tmp_path / "slas.yaml"
    p.write_text("default:\n  min_success_rate: 0.99\n  max_latency_p95_ms: 1\n  max_latency_p99_ms: 1\n"
                 f"  max_daily_cost_usd: {max_daily_cost_usd}\n  max_human_intervention_rate: 0.01\n")
    return p


def numpy_metrics(rows: list[dict], day: date) -> dict[str, dict]:
    """The documented definitions, computed independently with numpy from the Python rows."""
    start = datetime.combine(day, time(), UTC)
    end = start + timedelta(days=1)
    out: dict[str, dict] = {}
    for agent in sorted({r["agent_id"] for r in rows}):
        rs = [r for r in rows if r["agent_id"] == agent and start <= r["started_at"] < end]
        if not rs:
            continue
        st = np.array([r["status"] for r in rs])
        lat = np.array([r["latency_ms"] for r in rs])
        cost = np.array([r["cost_usd"] for r in rs])
        done = st != "cancelled"
        succ = int((st == "success").sum())
        pct = np.percentile(lat[done], [50, 95, 99]) if done.any() else [None] * 3
        errors: dict[str, int] = {}
        for r in rs:
            if r["status"] in ("failure", "timeout"):
                key = r["error_type"] or "unknown"
                errors[key] = errors.get(key, 0) + 1
        out[agent] = {
            "executions": len(rs), "successes": succ, "failures": int((st == "failure").sum()),
            "timeouts": int((st == "timeout").sum()), "cancelled": int((st == "cancelled").sum()),
            "success_rate": succ / int(done.sum()) if done.any() else None,
            "latency_p50_ms": pct[0], "latency_p95_ms": pct[1], "latency_p99_ms": pct[2],
            "tokens_in": sum(r["tokens_in"] for r in rs), "tokens_out": sum(r["tokens_out"] for r in rs),
            "cost_usd": float(cost.sum()), "cost_per_success_usd": float(cost.sum()) / succ if succ else None,
            "human_interventions": sum(r["human_intervention"] for r in rs),
            "human_intervention_rate": sum(r["human_intervention"] for r in rs) / len(rs),
            "error_types": errors,
        }
    return out
