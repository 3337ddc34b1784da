"""Executions for the health / circuit / alert tests, written the way the SDK writes them
(executions + the agents they name)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from meta_agent.store.executions import register_agents
from meta_agent.store.schema import executions
from meta_agent.store.sql import bulk_insert

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday noon, far from the wall clock


def row(agent: str, started: datetime, status: str = "success", latency_ms: float = 1000.0,
        cost_usd: float = 0.01, error_type: str | None = None) -> dict:
    if status in ("failure", "timeout") and error_type is None:
        error_type = "ToolExecutionError" if status == "failure" else "TimeoutError"
    return {
        "execution_id": uuid.uuid4().hex, "agent_id": agent, "started_at": started,
        "ended_at": started + timedelta(milliseconds=latency_ms), "status": status, "latency_ms": latency_ms,
        "model": "gpt-4o-mini", "prompt_version": "v1", "variant": None, "tokens_in": 100, "tokens_out": 10,
        "cost_usd": cost_usd, "error_type": error_type, "error_message": None, "human_intervention": False,
        "metadata": None, "source": "test", "ingested_at": datetime.now(UTC),
    }


def insert(engine: sa.Engine, rows: list[dict]) -> None:
    with engine.begin() as conn:
        register_agents(conn, rows)
        bulk_insert(conn, executions, rows)


def steady(agent: str, start: datetime, end: datetime, every: timedelta, *, status: str = "success",
           latency_ms: float = 1000.0, cost_usd: float = 0.01, error_type: str | None = None) -> list[dict]:
    """One execution every ``every`` in ``[start, end)``."""
    out, t = [], start
    while t < end:
        out.append(row(agent, t, status, latency_ms, cost_usd, error_type))
        t += every
    return out


def race_raise(url: str, spec, barrier, out, in_process: bool = False) -> None:
    """A process (or thread) that raises ``spec`` as soon as every racer is ready."""
    from meta_agent.ops.alerts import raise_alert
    from meta_agent.store.engine import dispose_all, engine_for

    try:
        engine = engine_for(url)
        with engine.connect() as conn:  # connect before the start line, like a running sensor
            conn.exec_driver_sql("SELECT 1")
        barrier.wait()
        with engine.begin() as conn:
            r = raise_alert(conn, spec, ["log"])
        out.put(("ok", r.alert_id, r.created))
    except Exception as exc:  # reported to the test
        out.put(("error", repr(exc), False))
    finally:
        if in_process:  # a child process closes its own pool; threads share the parent's
            dispose_all()
