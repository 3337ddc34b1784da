"""Where the ops data starts in time: the first UTC day on record.

The Dagster layer starts its daily partitions there (not years before the data, which made
every daily asset look mostly missing). Read when a code location loads, so it must be cheap
and harmless: it never creates a database, and a missing, empty, unmigrated or unreachable
one is simply "no data yet" (None).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent.store.executions import day_summaries
from meta_agent.store.schema import executions
from meta_agent.store.schema_ops_metrics import daily_agent_metrics

log = logging.getLogger(__name__)


def first_day_on_record(url: str) -> date | None:
    """The earliest UTC day with an execution or a stored daily metric (metrics outlive raw
    executions after retention), or None when there is none or the database cannot be read."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 — a bad URL is reported by whoever opens the DB for real
        return None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:" or not Path(parsed.database).exists():
            return None
        args = {"timeout": 5}
    else:
        args = {"connect_timeout": 3}
    engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            first_exec = conn.execute(sa.select(sa.func.min(executions.c.started_at))).scalar()
            first_metric = conn.execute(sa.select(sa.func.min(daily_agent_metrics.c.day))).scalar()
    except sa.exc.SQLAlchemyError as exc:
        log.debug("first_day_on_record: %s", exc)
        return None
    finally:
        engine.dispose()
    days = [d for d in (_as_day(first_exec), _as_day(first_metric)) if d is not None]
    return min(days) if days else None


def _as_day(value) -> date | None:
    """SQLite returns aggregates of typed columns as text; PostgreSQL as date/datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value[:26]) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(UTC)).date()
    return value


def recent_intake(conn: sa.Connection, days: int, now: datetime | None = None) -> dict:
    """What the execution log holds for the last ``days`` UTC days (today included): per day
    executions, agents, successes, tokens and cost, the total, and a version that changes
    whenever any of those days gains or loses a row (late arrivals included)."""
    now = now or datetime.now(UTC)
    end = datetime.combine(now.date() + timedelta(days=1), time(), UTC)
    by_day = day_summaries(conn, end - timedelta(days=days), end)
    total = sum(int(d["executions"]) for d in by_day)
    digest = hashlib.sha256(repr([(d["day"], int(d["executions"])) for d in by_day]).encode()).hexdigest()[:16]
    return {"by_day": by_day, "executions": total, "days_with_data": len(by_day),
            "last_day": by_day[-1]["day"] if by_day else None, "version": digest}
