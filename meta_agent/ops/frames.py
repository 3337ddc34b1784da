"""Reading a day of executions from the ops database into a polars DataFrame, fast.

A day belongs to ``started_at`` in UTC: ``day 00:00 <= started_at < day+1 00:00``.

On SQLite the raw ``sqlite3`` cursor is used (SQLAlchemy's row processing would dominate
for 10^6 rows) and timestamps — stored as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text (see
``meta_agent.store.types``) — are parsed vectorized by polars. PostgreSQL goes through the
driver's own cursor as well; its timestamps arrive as aware datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import sqlalchemy as sa

from meta_agent.store.types import sqlite_utc_text

# Every column the ops layer reads, with its polars type.
EXECUTION_COLUMNS: dict[str, pl.DataType] = {
    "execution_id": pl.String,
    "agent_id": pl.String,
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "status": pl.String,
    "latency_ms": pl.Float64,
    "model": pl.String,
    "prompt_version": pl.String,
    "tokens_in": pl.Int64,
    "tokens_out": pl.Int64,
    "cost_usd": pl.Float64,
    "error_type": pl.String,
    "human_intervention": pl.Boolean,
}
METRIC_COLUMNS = ("agent_id", "status", "latency_ms", "tokens_in", "tokens_out", "cost_usd",
                  "error_type", "human_intervention")
_TIMESTAMPS = ("started_at", "ended_at")
_SQLITE_LAYOUT = "%Y-%m-%d %H:%M:%S%.f"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of a UTC day."""
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


def days_in(start: datetime, end: datetime) -> list[date]:
    """The UTC days of a partition time window ``[start, end)``."""
    first = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def empty_frame(columns: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={c: EXECUTION_COLUMNS[c] for c in columns})


def read_day(conn: sa.Connection, day: date, columns: Sequence[str] = tuple(EXECUTION_COLUMNS), *,
             exclude_rejected: bool = False, agent_id: str | None = None) -> pl.DataFrame:
    """The executions that started on ``day`` (UTC), ``columns`` only.

    ``exclude_rejected`` leaves out the executions the quality suite rejected for that day
    (``execution_rejections``): what the metrics and SLA attribution see.
    """
    unknown = [c for c in columns if c not in EXECUTION_COLUMNS]
    if unknown:
        raise ValueError(f"unknown execution columns: {unknown}")
    start, end = day_bounds(day)
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    where = [f"started_at >= {mark}", f"started_at < {mark}"]
    params: list = [sqlite_utc_text(start), sqlite_utc_text(end)] if sqlite else [start, end]
    if agent_id is not None:
        where.append(f"agent_id = {mark}")
        params.append(agent_id)
    if exclude_rejected:
        where.append(f"execution_id NOT IN (SELECT execution_id FROM execution_rejections WHERE day = {mark})")  # noqa: S608
        params.append(day.isoformat() if sqlite else day)
    # a fixed row order makes floating-point sums, and so re-runs, bit-for-bit identical
    sql = (f"SELECT {', '.join(columns)} FROM executions WHERE {' AND '.join(where)} "  # noqa: S608 — names from a fixed allowlist
           "ORDER BY started_at, execution_id")
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, params)
        rows = cur.fetchall()
    finally:
        cur.close()
    return _frame(rows, columns, sqlite)


def _frame(rows: list[tuple], columns: Sequence[str], sqlite: bool) -> pl.DataFrame:
    if not rows:
        return empty_frame(columns)
    load_schema = {}
    for c in columns:
        dtype = EXECUTION_COLUMNS[c]
        if c in _TIMESTAMPS and sqlite:
            dtype = pl.String
        elif dtype == pl.Boolean and sqlite:
            dtype = pl.Int64  # SQLite stores booleans as 0/1
        load_schema[c] = dtype
    df = pl.DataFrame(rows, schema=load_schema, orient="row")
    casts = []
    for c in columns:
        if c in _TIMESTAMPS and sqlite:
            casts.append(_parse_sqlite_ts(df, c))
        elif EXECUTION_COLUMNS[c] == pl.Boolean and sqlite:
            casts.append(pl.col(c).cast(pl.Boolean))
    return df.with_columns(casts) if casts else df


def _parse_sqlite_ts(df: pl.DataFrame, col: str) -> pl.Expr:
    """Vectorized parse of SQLite timestamp text; rows in another ISO layout (written by
    hand with SQL) fall back to ``datetime.fromisoformat``."""
    parsed = df[col].str.to_datetime(_SQLITE_LAYOUT, time_unit="us", time_zone="UTC", strict=False)
    bad = parsed.is_null() & df[col].is_not_null()
    if bad.any():
        fixed = [
            _iso(v) if b else p
            for v, p, b in zip(df[col].to_list(), parsed.to_list(), bad.to_list(), strict=True)
        ]
        parsed = pl.Series(col, fixed, dtype=pl.Datetime("us", "UTC"))
    return pl.lit(parsed).alias(col)


def _iso(text: str) -> datetime | None:
    try:
        v = datetime.fromisoformat(text)
    except ValueError:
        return None
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def lock_day(conn: sa.Connection, table: str, day: date) -> None:
    """Serialize writers of one table's day (two runs of the same partition at once).

    PostgreSQL: a transaction-scoped advisory lock, taken before reading, so the second
    writer waits and then rewrites the day from scratch. SQLite serializes writers itself.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                     {"key": f"meta_agent:{table}:{day.isoformat()}"})
