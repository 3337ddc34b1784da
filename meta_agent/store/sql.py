"""Small dialect-neutral SQL helpers used by every repository."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: Sequence[dict]) -> None:
    """INSERT rows, skipping any whose primary key already exists (race-safe)."""
    if not rows:
        return
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


def upsert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict], keys: Sequence[str]) -> None:
    """INSERT rows, replacing the non-key columns of rows whose ``keys`` already exist."""
    if not rows:
        return
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), list(rows))


def chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def existing_keys(conn: sa.Connection, column: sa.Column, values: Iterable) -> set:
    """Which of ``values`` are already present in ``column`` (queried in bounded chunks)."""
    found: set = set()
    for part in chunks(set(values), 500):
        found.update(conn.execute(sa.select(column).where(column.in_(part))).scalars())
    return found


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: Sequence, *, columns: Sequence[str] | None = None,
                ignore_conflicts: bool = True) -> None:
    """The fast path for large batches: compile once, convert values per column, executemany.

    ``rows`` are dicts, or sequences in ``columns`` order. Same result as ``insert_ignore``
    (values go through each column type's bind processor) without SQLAlchemy's per-row
    parameter processing, which dominates for 10^5 rows.
    """
    if not rows:
        return
    cols = list(columns) if columns is not None else list(rows[0])
    dialect_mod = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect_mod.insert(table).values({c: sa.bindparam(c) for c in cols})
    if ignore_conflicts:
        stmt = stmt.on_conflict_do_nothing()
    compiled = stmt.compile(dialect=conn.dialect)
    order = list(compiled.positiontup or cols)
    procs = [
        (i, p)
        for i, c in enumerate(order)
        if (p := table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)) is not None
    ]
    getter = operator.itemgetter(*(order if columns is None else [cols.index(c) for c in order]))
    params: list = []
    for r in rows:
        values = list(getter(r))  # a copy: the caller may still need its rows (e.g. to spill them)
        for i, p in procs:
            v = values[i]
            if v is not None:  # every processor here maps None to NULL (JSONDoc: none_as_null)
                values[i] = p(v)
        params.append(tuple(values) if compiled.positiontup else dict(zip(order, values, strict=True)))
    conn.exec_driver_sql(compiled.string, params)
