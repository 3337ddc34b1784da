"""Writing and reading execution logs (executions + actions + the agents they name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from meta_agent.store.schema import A_EXEC, ACTION_COLUMNS, actions, agents, executions
from meta_agent.store.sql import bulk_insert, existing_keys, insert_ignore


@dataclass
class WriteReport:
    inserted: int = 0
    duplicates: int = 0
    actions: int = 0
    new_agents: int = 0


def write_batch(
    conn: sa.Connection, exec_rows: Sequence[dict], action_rows: Sequence[list], *, dedupe: bool
) -> WriteReport:
    """Insert executions (dicts), their actions (lists in ``ACTION_COLUMNS`` order) and any
    agents seen for the first time.

    ``dedupe=True`` (ingest) looks up which execution ids already exist and skips them and
    their actions, so loading the same file twice changes nothing. The SDK passes ``False``:
    its ids are fresh UUIDs, and ``ON CONFLICT DO NOTHING`` still guards the primary keys.
    Runs inside the caller's transaction.
    """
    report = WriteReport()
    if dedupe and exec_rows:
        seen = existing_keys(conn, executions.c.execution_id, (r["execution_id"] for r in exec_rows))
        if seen:
            exec_rows = [r for r in exec_rows if r["execution_id"] not in seen]
            action_rows = [r for r in action_rows if r[A_EXEC] not in seen]
            report.duplicates = len(seen)
    report.new_agents = register_agents(conn, exec_rows)
    bulk_insert(conn, executions, exec_rows)
    bulk_insert(conn, actions, action_rows, columns=ACTION_COLUMNS)
    report.inserted = len(exec_rows)
    report.actions = len(action_rows)
    return report


def register_agents(conn: sa.Connection, exec_rows: Sequence[dict]) -> int:
    """Register agents seen for the first time; move ``last_seen_at`` forward for the others."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    for r in exec_rows:
        lo, hi = spans.get(r["agent_id"], (r["started_at"], r["started_at"]))
        spans[r["agent_id"]] = (min(lo, r["started_at"]), max(hi, r["started_at"]))
    if not spans:
        return 0
    known = existing_keys(conn, agents.c.agent_id, spans)
    now = datetime.now(UTC)
    new = [
        {
            "agent_id": a,
            "display_name": a,
            "first_seen_at": lo,
            "last_seen_at": hi,
            "registered_at": now,
        }
        for a, (lo, hi) in spans.items()
        if a not in known
    ]
    insert_ignore(conn, agents, new)
    for a in known:
        lo, hi = spans[a]
        conn.execute(
            agents.update()
            .where(agents.c.agent_id == a)
            .values(
                first_seen_at=sa.case(
                    (sa.or_(agents.c.first_seen_at.is_(None), agents.c.first_seen_at > lo), lo),
                    else_=agents.c.first_seen_at,
                ),
                last_seen_at=sa.case(
                    (sa.or_(agents.c.last_seen_at.is_(None), agents.c.last_seen_at < hi), hi),
                    else_=agents.c.last_seen_at,
                ),
            )
        )
    return len(new)


def count_by_day(conn: sa.Connection, start: datetime, end: datetime) -> list[dict]:
    """Executions per agent and status with ``start <= started_at < end``."""
    q = (
        sa.select(executions.c.agent_id, executions.c.status, sa.func.count().label("n"))
        .where(executions.c.started_at >= start, executions.c.started_at < end)
        .group_by(executions.c.agent_id, executions.c.status)
        .order_by(executions.c.agent_id, executions.c.status)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def get_execution(conn: sa.Connection, execution_id: str) -> dict | None:
    row = conn.execute(sa.select(executions).where(executions.c.execution_id == execution_id)).first()
    return dict(row._mapping) if row else None


def day_summaries(conn: sa.Connection, start: datetime, end: datetime) -> list[dict]:
    """Per UTC day in ``[start, end)``: executions, agents, statuses, tokens and cost."""
    day = sa.func.substr(sa.cast(executions.c.started_at, sa.String), 1, 10) if conn.dialect.name == "sqlite" \
        else sa.func.to_char(sa.func.timezone("UTC", executions.c.started_at), "YYYY-MM-DD")
    ok = sa.func.sum(sa.case((executions.c.status == "success", 1), else_=0))
    q = (
        sa.select(
            day.label("day"),
            sa.func.count().label("executions"),
            sa.func.count(sa.distinct(executions.c.agent_id)).label("agents"),
            ok.label("successes"),
            sa.func.sum(executions.c.tokens_in + executions.c.tokens_out).label("tokens"),
            sa.func.sum(executions.c.cost_usd).label("cost_usd"),
        )
        .where(executions.c.started_at >= start, executions.c.started_at < end)
        .group_by(day)
        .order_by(day)
    )
    return [dict(r._mapping) for r in conn.execute(q)]

