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

Per-agent columns (``read_by_agent``, what the daily metrics and SLA attribution read): on
SQLite one ``GROUP BY agent_id`` over the ``(agent_id, started_at, …)`` covering index returns
each agent's values as one array per column — REALs exactly, as a blob of doubles collected by
an application-defined aggregate (``REALS``), everything else as ``json_group_array`` text —
instead of a Python tuple per row, which is what a 10^6-row read through ``sqlite3`` spends
its time on. PostgreSQL reads the same columns through ADBC and partitions them in polars.
Rejected executions are excluded by ``rowid`` on SQLite (an integer probe per row; the index
holds the rowid), by ``execution_id`` on PostgreSQL.
"""

from __future__ import annotations

import array
import gc
import json
import logging
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import adbc_driver_postgresql.dbapi as adbc_postgresql
import numpy as np
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
    exclude_rejected = exclude_rejected and has_rejections(conn, day)
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


def has_rejections(conn: sa.Connection, day: date) -> bool:
    return bool(fetch_all(conn, f"SELECT 1 FROM execution_rejections WHERE day = {sql_literal(conn, day)} LIMIT 1"))  # noqa: S608


def fetch_all(conn: sa.Connection, sql: str) -> list[tuple]:
    """Rows of ``sql`` (literals inlined, no parameters) through the driver's own cursor, in
    the caller's transaction; no parameter parsing, so a literal may hold any character."""
    raw = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        _map_file(raw)
        _register_reals(raw)
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
    """The ``SELECT`` of :func:`read_day`, literals inlined (no parameter parsing: see
    :func:`fetch_all`)."""
    pred = day_where(conn, day, agent_ids=agent_ids, where=where, exclude_rejected=exclude_rejected)
    # names from a fixed allowlist, literals quoted by the driver's rules
    sql = f"SELECT {', '.join(columns)} FROM executions WHERE {pred}"  # noqa: S608
    return sql + " ORDER BY started_at, execution_id" if ordered else sql


def not_rejected(conn: sa.Connection, day: date) -> str:
    """SQL true for the executions the quality suite did not reject on ``day``. SQLite: by
    ``rowid`` (the subquery runs once; each row is then an integer probe, answered from any
    index, where a text key would cost a string comparison per row and a table lookup);
    PostgreSQL: by ``execution_id`` (a hashed subplan)."""
    d = sql_literal(conn, day)
    if conn.dialect.name == "sqlite":
        return ("rowid NOT IN (SELECT x.rowid FROM execution_rejections r JOIN executions x "  # noqa: S608
                f"ON x.execution_id = r.execution_id WHERE r.day = {d})")
    return f"execution_id NOT IN (SELECT execution_id FROM execution_rejections WHERE day = {d})"  # noqa: S608


_AGENTS = """
WITH RECURSIVE a(id) AS (
  SELECT min(agent_id) FROM executions
  UNION ALL
  SELECT (SELECT min(agent_id) FROM executions WHERE agent_id > a.id) FROM a WHERE a.id IS NOT NULL
)
SELECT id,
  (SELECT min(started_at) FROM executions WHERE agent_id = a.id AND started_at >= {lo} AND started_at < {hi}),
  (SELECT max(started_at) FROM executions WHERE agent_id = a.id AND started_at >= {lo} AND started_at < {hi})
FROM a WHERE id IS NOT NULL
"""


def day_agents(conn: sa.Connection, day: date) -> dict[str, tuple]:
    """Every agent with executions on ``day`` → its first and last raw ``started_at`` that day
    (text on SQLite, aware datetimes on PostgreSQL), in agent order. A loose index scan of
    ``(agent_id, started_at, …)``: one index probe per agent id ever seen, no table row."""
    lo, hi = (sql_literal(conn, t) for t in day_bounds(day))
    rows = fetch_all(conn, _AGENTS.format(lo=lo, hi=hi))
    return {a: (first, last) for a, first, last in rows if first is not None}


# ---------------------------------------------------------------- per-agent columns

REALS = "meta_agent_reals"  # SQLite: the aggregate collecting a group's REALs as a blob of doubles


class _Reals(array.array):
    """``REALS(x)``: the group's values, exactly (8 bytes each, no text round trip).
    ``step`` is ``array.append`` itself: no Python frame per row."""

    def __new__(cls):
        return super().__new__(cls, "d")

    step = array.array.append

    def finalize(self) -> bytes:
        return self.tobytes()


REALS2 = "meta_agent_reals2"  # SQLite: two REAL columns at once (half the per-row callbacks)


class _Reals2:
    """``REALS2(x, y)``: the group's non-NULL ``x`` and ``y`` values, exactly, in one callback
    per row (what a row costs here is mostly the callback, not the values it carries)."""

    def __init__(self) -> None:
        self.x, self.y = array.array("d"), array.array("d")
        x_append, y_append = self.x.append, self.y.append

        def step(x, y) -> None:
            if x is not None:
                x_append(x)
            if y is not None:
                y_append(y)

        self.step = step

    def finalize(self) -> bytes:
        return array.array("q", [len(self.x)]).tobytes() + self.x.tobytes() + self.y.tobytes()


def _register_reals(raw) -> None:
    """Define ``REALS`` and ``REALS2`` on a raw ``sqlite3`` connection once (redefining a
    function expires the connection's prepared statements, so not on every read)."""
    if not raw.execute("SELECT 1 FROM pragma_function_list WHERE name = ?", (REALS2,)).fetchone():
        raw.create_aggregate(REALS, 1, _Reals)
        raw.create_aggregate(REALS2, 2, _Reals2)


def reals_agg(conn: sa.Connection, expr: str) -> str:
    """An aggregate collecting the group's REAL values of ``expr``, in the order rows arrive:
    ``REALS`` on SQLite, ``array_agg`` on PostgreSQL. Decoded by :func:`group_rows`."""
    return f"{REALS}({expr})" if conn.dialect.name == "sqlite" else f"array_agg({expr})"


def reals_pair_agg(conn: sa.Connection, x: str, y: str, *, x_when: str) -> str:
    """Two :func:`reals_agg` at once — the group's ``x`` where ``x_when`` holds, and every
    ``y`` — decoded by :func:`group_rows` (kind ``"reals2"``) as two Float64 Series: one
    ``REALS2`` call per row on SQLite, two ``array_agg`` on PostgreSQL."""
    if conn.dialect.name == "sqlite":
        return f"{REALS2}(CASE WHEN {x_when} THEN {x} END, {y})"
    return f"array_agg({x}) FILTER (WHERE {x_when}), array_agg({y})"


def values_agg(conn: sa.Connection, expr: str) -> str:
    """An aggregate collecting the group's text or integer values of ``expr`` exactly:
    ``json_group_array`` on SQLite, ``array_agg`` on PostgreSQL. Decoded by :func:`group_rows`."""
    return f"json_group_array({expr})" if conn.dialect.name == "sqlite" else f"array_agg({expr})"


def group_rows(conn: sa.Connection, sql: str, kinds: Sequence[str]) -> list[list]:
    """Rows of a grouped query, decoded: ``kinds`` names each aggregate's kind — ``"value"``
    (a scalar), ``"reals"`` (a :func:`reals_agg`: a Float64 Series), ``"reals2"`` (a
    :func:`reals_pair_agg`: two Float64 Series, two entries of the row), ``"values"`` (a
    :func:`values_agg`: a Python list). An empty collection (no row passed its FILTER) is an
    empty Series / list. PostgreSQL reads through ADBC when it can, as :func:`read_day`."""
    if conn.dialect.name != "sqlite":  # array_agg twice
        kinds = [k for kind in kinds for k in (("reals", "reals") if kind == "reals2" else (kind,))]
    uri = arrow_uri(conn)
    if uri is not None:
        try:
            with adbc_postgresql.connect(uri, autocommit=True) as con, con.cursor() as cur:
                cur.execute(sql)
                table = cur.fetch_arrow_table()
            df = pl.from_arrow(table.rename_columns([f"c{i}" for i in range(table.num_columns)]))
            cols = [df.to_series(i) for i in range(df.width)]
            return [[_arrow_cell(c[r], k) for c, k in zip(cols, kinds, strict=True)] for r in range(df.height)]
        except Exception as exc:  # noqa: BLE001 — the cursor below reads the same rows, only slower
            log.warning("ADBC could not run the grouped read (%s: %s); using psycopg's cursor", type(exc).__name__, exc)
    out = []
    for row in fetch_all(conn, sql):
        cells = []
        for v, k in zip(row, kinds, strict=True):
            if k == "reals2":
                cells += _pair(v)
            else:
                cells.append(_cell(v, k))
        out.append(cells)
    return out


def _pair(v) -> tuple[pl.Series, pl.Series]:
    if v is None:
        return pl.Series(values=[], dtype=pl.Float64), pl.Series(values=[], dtype=pl.Float64)
    n = int(np.frombuffer(v, dtype=np.int64, count=1)[0])
    values = np.frombuffer(v, dtype=np.float64, offset=8)
    return pl.Series(values=values[:n], dtype=pl.Float64), pl.Series(values=values[n:], dtype=pl.Float64)


def _cell(v, kind: str):
    if kind == "value":
        return v
    if kind == "reals":
        if v is None:
            return pl.Series(values=[], dtype=pl.Float64)
        if isinstance(v, bytes | memoryview):
            return pl.Series(values=np.frombuffer(v, dtype=np.float64), dtype=pl.Float64)
        return pl.Series(values=v, dtype=pl.Float64)  # psycopg: a list of floats
    if v is None:
        return []
    return json.loads(v) if isinstance(v, str) else list(v)


def _arrow_cell(v, kind: str):
    if kind == "value":
        return v
    if kind == "reals":
        return pl.Series(values=[], dtype=pl.Float64) if v is None else v.cast(pl.Float64)
    return [] if v is None else v.to_list()


def read_by_agent(conn: sa.Connection, day: date, columns: Sequence[str], *,
                  agent_ids: Sequence[str] | None = None, where: str | None = None,
                  exclude_rejected: bool = True, key: bool = False) -> pl.DataFrame:
    """The day's executions, ``agent_id`` and ``columns`` (typed as :func:`read_day`), in no
    particular order — for computations that do not depend on it (group-bys by agent, exact
    sums, quantiles, a top-N's threshold). ``key`` adds ``row_key``,
    what :func:`rows_by_key` fetches whole rows by (the rowid on SQLite, the execution id on
    PostgreSQL).

    SQLite: one ``GROUP BY agent_id`` over the ``(agent_id, started_at, …)`` covering index,
    which streams agent by agent (no sort, no table row), every column collected as one array
    per agent (see the module doc), decoded in bulk; PostgreSQL: :func:`read_day` (ADBC)."""
    cols = [c for c in columns if c != "agent_id"]
    unknown = [c for c in cols if c not in EXECUTION_COLUMNS]
    if unknown:
        raise ValueError(f"unknown execution columns: {unknown}")
    schema = {"agent_id": pl.String, **{c: EXECUTION_COLUMNS[c] for c in cols}}
    if conn.dialect.name != "sqlite":  # read_day checks for rejections itself
        read = ["agent_id", *cols] + (["execution_id"] if key and "execution_id" not in cols else [])
        df = read_day(conn, day, read, exclude_rejected=exclude_rejected, agent_ids=agent_ids, where=where,
                      ordered=False)
        return df.with_columns(pl.col("execution_id").alias("row_key")).select(*schema, "row_key") if key \
            else df.select(*schema)
    exclude_rejected = exclude_rejected and has_rejections(conn, day)
    if key:
        schema["row_key"] = pl.Int64
    agents = sorted(agent_ids) if agent_ids is not None else list(day_agents(conn, day))
    aggs = [reals_agg(conn, c) if EXECUTION_COLUMNS[c] == pl.Float64 else values_agg(conn, c) for c in cols]
    if key:
        aggs.append(values_agg(conn, "rowid"))
    # no FILTER on any aggregate: every array of a group holds the same rows in the same order
    sql = (f"SELECT agent_id, count(*){''.join(', ' + a for a in aggs)} FROM executions "  # noqa: S608
           f"WHERE {day_where(conn, day, agent_ids=agents, where=where, exclude_rejected=exclude_rejected)} "
           "GROUP BY agent_id")
    rows = fetch_all(conn, sql) if agents else []
    if not rows:
        return pl.DataFrame(schema=schema)
    data = {"agent_id": pl.Series("agent_id", [r[0] for r in rows], dtype=pl.String)
            .gather(np.repeat(np.arange(len(rows)), [r[1] for r in rows]))}
    for i, c in enumerate([*cols, *(["row_key"] if key else [])], start=2):
        values = [r[i] for r in rows]
        dtype = schema[c]
        if dtype == pl.Float64:
            data[c] = pl.Series(c, np.concatenate([np.frombuffer(v, dtype=np.float64) for v in values]))
            continue
        text_dtype = pl.String if c in _TIMESTAMPS else pl.Int64 if dtype == pl.Boolean else dtype
        series = pl.Series(c, values, dtype=pl.String).str.json_decode(pl.List(text_dtype)).explode()
        if c in _TIMESTAMPS:  # SQLite text, parsed as read_day parses it
            text = pl.DataFrame({c: series})
            series = text.select(parse_sqlite_ts(text, c))[c]
        data[c] = series.cast(dtype) if dtype == pl.Boolean else series
    return pl.DataFrame(data)


def day_where(conn: sa.Connection, day: date, *, agent_ids: Sequence[str] | None = None, where: str | None = None,
              exclude_rejected: bool = True) -> str:
    """The predicate of the day's executions (``started_at`` in the UTC day), with the same
    options as :func:`read_day`; ``exclude_rejected`` without the check for rejections."""
    start, end = day_bounds(day)
    preds = [f"started_at >= {sql_literal(conn, start)}", f"started_at < {sql_literal(conn, end)}"]
    if agent_ids is not None:
        preds.insert(0, f"agent_id IN ({', '.join(sql_literal(conn, a) for a in agent_ids) or 'NULL'})")
    if exclude_rejected:
        preds.append(not_rejected(conn, day))
    if where:
        preds.append(f"({where})")
    return " AND ".join(preds)


def rows_by_key(conn: sa.Connection, keys: Sequence, columns: Sequence[str], order_by: str) -> pl.DataFrame:
    """The executions whose ``row_key`` (see :func:`read_by_agent`) is in ``keys``, ``columns``
    only, in ``order_by`` (SQL over the executions columns: the database's order, collation
    included, as :func:`read_day`'s)."""
    if not keys:
        return empty_frame(columns)
    sqlite = conn.dialect.name == "sqlite"
    key_col = "rowid" if sqlite else "execution_id"
    # allowlisted names; keys are integers (SQLite) or quoted literals (PostgreSQL)
    sql = (f"SELECT {', '.join(columns)} FROM executions "  # noqa: S608
           f"WHERE {key_col} IN ({', '.join(sql_literal(conn, k) for k in keys)}) ORDER BY {order_by}")
    return _frame(fetch_all(conn, sql), columns, sqlite)


def frame_of(rows: list[tuple], columns: Sequence[str], conn: sa.Connection) -> pl.DataFrame:
    """Rows fetched with :func:`fetch_all` as a frame typed as :func:`read_day`'s."""
    return _frame(rows, columns, conn.dialect.name == "sqlite")


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
