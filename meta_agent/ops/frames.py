"""Reading a day of executions from the ops database into a polars DataFrame, fast.

A day belongs to ``started_at`` in UTC: ``day 00:00 <= started_at < day+1 00:00``.

PostgreSQL: the ADBC driver streams the rows straight into Arrow (binary COPY), on its own
autocommit connection — every caller reads before it writes, with the day's advisory lock
already held, so it sees what the caller's connection would; without the driver, psycopg's
cursor. SQLite: the raw ``sqlite3`` cursor of the caller's connection (SQLAlchemy's row
processing would dominate for 10^6 rows), with the garbage collector paused while the rows
arrive and the file memory-mapped. Never a second SQLite library in the process (as the
Arrow drivers for SQLite bundle): its POSIX locks are not the ``sqlite3`` module's, so it
reads past the WAL and can corrupt the file (sqlite.org, "How To Corrupt", 2.2.1).

On SQLite timestamps — stored as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text (see
``meta_agent.store.types``) — are parsed vectorized by polars; other ISO layouts written by
hand fall back to ``datetime.fromisoformat``. PostgreSQL's arrive as UTC.
"""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import adbc_driver_postgresql.dbapi as adbc_postgresql
import polars as pl
import sqlalchemy as sa
from psycopg import sql as psql

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
log = logging.getLogger(__name__)


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
             exclude_rejected: bool = False, agent_id: str | None = None,
             agent_ids: Sequence[str] | None = None, where: str | None = None,
             ordered: bool = True) -> pl.DataFrame:
    """The executions that started on ``day`` (UTC), ``columns`` only.

    ``exclude_rejected`` leaves out the executions the quality suite rejected for that day
    (``execution_rejections``): what the metrics and SLA attribution see. ``agent_id`` /
    ``agent_ids`` keep one agent / those agents; ``where`` adds a predicate built by this
    package (SQL text over the executions columns, literals from :func:`sql_literal`).
    ``ordered`` (the default) returns the rows by ``started_at, execution_id``: a fixed order,
    which row-order-sensitive consumers (ties in a top-N, examples) rely on.
    """
    unknown = [c for c in columns if c not in EXECUTION_COLUMNS]
    if unknown:
        raise ValueError(f"unknown execution columns: {unknown}")
    agents = [agent_id] if agent_id is not None else agent_ids
    exclude_rejected = exclude_rejected and _has_rejections(conn, day)
    select = partial(day_select, conn, day, exclude_rejected=exclude_rejected, agent_ids=agents, where=where)
    sqlite = conn.dialect.name == "sqlite"
    sql = select(columns, ordered=ordered)
    uri = arrow_uri(conn)
    if uri is not None:
        try:
            with adbc_postgresql.connect(uri, autocommit=True) as con, con.cursor() as cur:
                cur.execute(sql)
                return _typed(pl.from_arrow(cur.fetch_arrow_table()), columns)
        except Exception as exc:  # noqa: BLE001 — the cursor below reads the same rows, only slower
            log.warning("ADBC could not read the day (%s: %s); using psycopg's cursor", type(exc).__name__, exc)
    return _frame(fetch_all(conn, sql), columns, sqlite)


def _has_rejections(conn: sa.Connection, day: date) -> bool:
    return bool(fetch_all(conn, f"SELECT 1 FROM execution_rejections WHERE day = {sql_literal(conn, day)} LIMIT 1"))  # noqa: S608


def fetch_all(conn: sa.Connection, sql: str) -> list[tuple]:
    """Rows of ``sql`` (literals inlined, no parameters) through the driver's own cursor, in
    the caller's transaction; no parameter parsing, so a literal may hold any character."""
    raw = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        _map_file(raw)
    cur = raw.cursor()
    paused = gc.isenabled()
    gc.disable()  # 10^6 row tuples would trigger a collection every few hundred rows
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        if paused:
            gc.enable()
        cur.close()


MMAP_BYTES = 1 << 30


def _map_file(raw) -> None:
    """Memory-map the SQLite file for this connection (a scan then reads the OS page cache
    in place instead of copying every page through read()); a no-op once set."""
    raw.execute(f"PRAGMA mmap_size={MMAP_BYTES}")


def day_select(conn: sa.Connection, day: date, columns: Sequence[str], *, exclude_rejected: bool = False,
               agent_ids: Sequence[str] | None = None, where: str | None = None, ordered: bool = True) -> str:
    """The ``SELECT`` of :func:`read_day`, literals inlined (connectorx takes no parameters)."""
    start, end = day_bounds(day)
    preds = [f"started_at >= {sql_literal(conn, start)}", f"started_at < {sql_literal(conn, end)}"]
    if agent_ids is not None:
        preds.append(f"agent_id IN ({', '.join(sql_literal(conn, a) for a in agent_ids) or 'NULL'})")
    if exclude_rejected:
        preds.append("execution_id NOT IN (SELECT execution_id FROM execution_rejections "  # noqa: S608
                     f"WHERE day = {sql_literal(conn, day)})")
    if where:
        preds.append(f"({where})")
    # names from a fixed allowlist, literals quoted by the driver's rules
    sql = f"SELECT {', '.join(columns)} FROM executions WHERE {' AND '.join(preds)}"  # noqa: S608
    return sql + " ORDER BY started_at, execution_id" if ordered else sql


def sql_literal(conn: sa.Connection, value) -> str:
    """``value`` as an SQL literal of the connection's dialect: text (quoted by the driver's
    rules), a UTC timestamp (in its stored form), a date, a number, a bool or None."""
    sqlite = conn.dialect.name == "sqlite"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("1" if value else "0") if sqlite else ("true" if value else "false")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"no SQL literal for {value!r}")
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        text = sqlite_utc_text(value) if sqlite else value.astimezone(UTC).isoformat()
        return f"'{text}'" if sqlite else f"'{text}'::timestamptz"
    if isinstance(value, date):
        return f"'{value.isoformat()}'" if sqlite else f"'{value.isoformat()}'::date"
    if isinstance(value, str):
        if sqlite:
            if "\x00" in value:
                raise ValueError("text with a NUL character has no SQLite literal")
            return "'" + value.replace("'", "''") + "'"
        return psql.Literal(value).as_string(conn.connection.driver_connection)
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def arrow_uri(conn: sa.Connection) -> str | None:
    """The ADBC URI of a PostgreSQL connection's database (None for SQLite: see module doc)."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _typed(df: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """ADBC's frame in the types of ``EXECUTION_COLUMNS`` (the cursor path's frame)."""
    if df.is_empty():
        return empty_frame(columns)
    casts = [pl.col(c).cast(EXECUTION_COLUMNS[c]) for c in columns if df.schema[c] != EXECUTION_COLUMNS[c]]
    return df.with_columns(casts) if casts else df


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
            casts.append(parse_sqlite_ts(df, c))
        elif EXECUTION_COLUMNS[c] == pl.Boolean and sqlite:
            casts.append(pl.col(c).cast(pl.Boolean))
    return df.with_columns(casts) if casts else df


def parse_sqlite_ts(df: pl.DataFrame, col: str) -> pl.Expr:
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
