"""The data-quality suite pushed down into the database: one scan of the day that returns
only the rows that *may* fail an expectation, evaluated exactly afterwards in polars.

``candidate_predicate`` compiles each expectation of the suite (``quality.SUITE``) into an
SQL predicate that is true for every row the expectation rejects — a superset, never a
subset: the exact decision (and the detail recorded for each rejection) is made by
``quality.evaluate_frame`` on the few candidate rows, with great-expectations' semantics.
What SQL cannot decide exactly becomes a candidate:

- SQLite stores timestamps as text; a row is only trusted in SQL when both timestamps are
  in the canonical layout ``YYYY-MM-DD HH:MM:SS.ffffff`` with valid fields (``started_at``
  on the day, ``ended_at`` on the day or the next), where text order is time order. Any
  other text — a valid ISO layout written by hand, or no timestamp at all — is a candidate
  and is parsed the way ``frames.read_day`` parses it.
- A regex on ``agent_id`` is evaluated in Python (Python's ``re``, as GX's pandas engine
  does) over the day's distinct agent ids, found through the ``(agent_id, started_at)``
  index; the ids that fail make their rows candidates.
- NaN floats (PostgreSQL can store them) are nulls to GX: candidates for the not-null check.

A column the table declares NOT NULL gets no ``IS NULL`` test (both engines refuse such a
row), and the layout check is one GLOB and one comparison per timestamp: the scan's cost
is the number of tests per row.

``frames.day_agents`` reads each agent's first and last ``started_at`` of the day from the
same index (the agent registry needs them), without touching the table rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import polars as pl
import sqlalchemy as sa

from meta_agent.ops import frames
from meta_agent.store.schema import executions

_DIGIT = "[0-9]"
# the time of day's shape; the hour is then bounded by a comparison ("< 'YYYY-MM-DD 24'"),
# cheaper than a second GLOB for 20-23
_TIME_GLOB = f"[0-2]{_DIGIT}:[0-5]{_DIGIT}:[0-5]{_DIGIT}.{_DIGIT * 6}"
TIMESTAMP_COLUMNS = ("started_at", "ended_at")


class Unsupported(ValueError):
    """An expectation type with no SQL translation (add one to ``_predicate``)."""


def candidate_predicate(conn: sa.Connection, day: date, expectations: Iterable, *,
                        failing_agents: Sequence[str] = ()) -> str:
    """SQL true for every row of ``day`` that may fail one of ``expectations`` (objects with
    ``type`` and ``kwargs``, GX's configuration shape); ``failing_agents``: the agent ids a
    regex on ``agent_id`` rejected (see :func:`regex_failures`)."""
    preds: list[str] = []
    for e in expectations:
        p = _predicate(conn, e.type, e.kwargs, failing_agents)
        if p and p not in preds:
            preds.append(p)
    if conn.dialect.name == "sqlite":
        preds.append(f"NOT ({sqlite_canonical(day)})")
    return " OR ".join(preds) if preds else "0 = 1"


def _predicate(conn: sa.Connection, kind: str, kw: dict, failing_agents: Sequence[str]) -> str | None:
    lit = lambda v: frames.sql_literal(conn, v)  # noqa: E731
    col = kw.get("column")
    if col is not None and col not in frames.EXECUTION_COLUMNS:
        raise Unsupported(f"{kind}: column {col!r} is not an executions column")
    if kind == "expect_table_columns_to_match_set":
        return None  # the SELECT names every column: decided without rows (see quality.evaluate_frame)
    if kind == "expect_column_values_to_not_be_null":
        nan = frames.EXECUTION_COLUMNS[col] == pl.Float64 and conn.dialect.name == "postgresql"
        null = f"{col} IS NULL" if _nullable(col) else None
        return " OR ".join(p for p in (null, f"{col} = 'NaN'::float8" if nan else None) if p) or None  # GX: NaN is null
    if kind == "expect_column_values_to_be_in_set":
        # NOT (a OR b …), not NOT IN (…): on SQLite an IN list is a b-tree probe per row, the
        # chain stops at the first match (the commonest value first); the same NULL semantics
        if not kw["value_set"]:
            return f"{col} IS NOT NULL"
        return f"NOT ({' OR '.join(f'{col} = {lit(v)}' for v in kw['value_set'])})"
    if kind == "expect_column_values_to_be_between":
        if kw.get("strict_min") or kw.get("strict_max"):
            raise Unsupported(f"{kind}: strict bounds are not translated")
        parts = [f"{col} < {lit(kw['min_value'])}"] if kw.get("min_value") is not None else []
        parts += [f"{col} > {lit(kw['max_value'])}"] if kw.get("max_value") is not None else []
        return " OR ".join(parts) or None
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kw["column_A"], kw["column_B"]
        if kw.get("ignore_row_if", "both_values_are_missing") != "both_values_are_missing":
            raise Unsupported(f"{kind}: ignore_row_if={kw['ignore_row_if']!r} is not translated")
        # a null on one side fails too (where the column may hold one)
        nulls = [f"{c} IS NULL" for c in (a, b) if _nullable(c)]
        return " OR ".join([f"{a} {'<' if kw.get('or_equal') else '<='} {b}", *nulls])
    if kind == "expect_column_values_to_match_regex":
        if col == "agent_id":
            return f"agent_id IN ({', '.join(lit(a) for a in failing_agents)})" if failing_agents else None
        return "1 = 1"  # no portable regex in SQL: every row is a candidate
    raise Unsupported(f"no SQL translation for {kind}")


def _nullable(col: str) -> bool:
    """Whether ``executions.col`` can hold NULL: a NOT NULL column needs no ``IS NULL`` test
    (both engines refuse the row), which spares the scan one test per row."""
    return executions.c[col].nullable is not False


def sqlite_canonical(day: date) -> str:
    """SQLite: both timestamps in the canonical layout with valid fields (see module doc)."""
    nxt = day + timedelta(days=1)

    def on(col: str, d: date) -> str:
        return f"{col} GLOB '{d.isoformat()} {_TIME_GLOB}' AND {col} < '{d.isoformat()} 24'"

    return f"{on('started_at', day)} AND ({on('ended_at', day)} OR {on('ended_at', nxt)})"


def regex_failures(expectations: Iterable, agents: Iterable[str]) -> list[str]:
    """The agent ids a regex expectation on ``agent_id`` rejects, as GX's pandas engine
    decides (``str(value)`` searched with Python's ``re``)."""
    patterns = [re.compile(e.kwargs["regex"]) for e in expectations
                if e.type == "expect_column_values_to_match_regex" and e.kwargs.get("column") == "agent_id"]
    return sorted(a for a in agents if any(p.search(str(a)) is None for p in patterns))


def edge_started_at(conn: sa.Connection, day: date, agent: str, predicate: str, *, last: bool):
    """The first (``last``: the latest) raw ``started_at`` of ``agent`` on ``day`` among the
    rows that are *not* candidates, walking the index from that end; None when there is none."""
    lo, hi = (frames.sql_literal(conn, t) for t in frames.day_bounds(day))
    q = (f"SELECT started_at FROM executions WHERE agent_id = {frames.sql_literal(conn, agent)} "  # noqa: S608
         f"AND started_at >= {lo} AND started_at < {hi} AND NOT ({predicate}) "
         f"ORDER BY started_at {'DESC' if last else 'ASC'} LIMIT 1")
    rows = frames.fetch_all(conn, q)
    return rows[0][0] if rows else None


def parse_started_at(conn: sa.Connection, values: Sequence) -> list[datetime | None]:
    """Raw ``started_at`` values as aware UTC datetimes, parsed as ``frames.read_day`` does."""
    if conn.dialect.name != "sqlite":
        return list(values)
    df = pl.DataFrame({"started_at": pl.Series(list(values), dtype=pl.String)})
    return df.with_columns(frames.parse_sqlite_ts(df, "started_at"))["started_at"].to_list()


def count_day(conn: sa.Connection, day: date) -> int:
    lo, hi = (frames.sql_literal(conn, t) for t in frames.day_bounds(day))
    return int(frames.fetch_all(conn, f"SELECT count(*) FROM executions WHERE started_at >= {lo} AND started_at < {hi}")[0][0])  # noqa: S608, E501
