"""A quick per-agent overview of a date window (the demo's first table)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import sqlalchemy as sa

from meta_agent.store.schema import executions


def fleet_overview(conn: sa.Connection, first: date, last: date) -> list[dict]:
    """Per agent, executions started on days ``first..last`` (UTC): count, success rate
    (cancelled left out), median latency, cost and human-intervention rate."""
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    q = sa.select(executions.c.agent_id, executions.c.status, executions.c.latency_ms,
                  executions.c.cost_usd, executions.c.human_intervention).where(
        executions.c.started_at >= start, executions.c.started_at < end)
    rows = conn.execute(q).all()
    if not rows:
        return []
    df = pl.DataFrame(rows, schema=["agent_id", "status", "latency_ms", "cost_usd", "human"], orient="row")
    done = pl.col("status") != "cancelled"
    out = (
        df.group_by("agent_id")
        .agg(
            pl.len().alias("executions"),
            ((pl.col("status") == "success").sum() / done.sum()).alias("success_rate"),
            pl.col("latency_ms").filter(done).median().alias("latency_p50_ms"),
            pl.col("cost_usd").sum().alias("cost_usd"),
            pl.col("human").cast(pl.Float64).mean().alias("human_rate"),
        )
        .sort("agent_id")
    )
    return out.to_dicts()
