"""Writing execution scores: the idempotent upsert the SDK, ingest and evaluation share.

A score's key is (execution_id, name, source). Writing one:

- a key not stored yet is **inserted**;
- the same value and comment again is a **duplicate** (nothing is written);
- a different value or comment **replaces** the stored one (last write wins) — unless its
  ``scored_at`` is older than the stored score's, then it is **stale** and ignored, so a spill
  file replayed late never undoes a reviewer's later correction.

The same rules apply between rows of one batch (the later of equal ``scored_at`` wins). One
statement per batch, ``INSERT ... ON CONFLICT DO UPDATE ... WHERE scored_at <= excluded``,
on SQLite and PostgreSQL alike; runs inside the caller's transaction (the SDK and ingest
write scores in the transaction of their executions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meta_agent.records.layout import SCORE_COLUMNS
from meta_agent.records.layout import SCORE_SOURCES as CONTRACT_SOURCES
from meta_agent.store.schema import executions
from meta_agent.store.schema_evaluation import SCORE_SOURCES, execution_scores
from meta_agent.store.sql import chunks

assert set(SCORE_SOURCES) == set(CONTRACT_SOURCES), "schema_evaluation.SCORE_SOURCES != records.SCORE_SOURCES"  # noqa: S101
assert tuple(c.name for c in execution_scores.columns) == SCORE_COLUMNS, "execution_scores != records.SCORE_COLUMNS"  # noqa: S101

KEY = ("execution_id", "name", "source")


@dataclass
class ScoreWriteReport:
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    stale: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    def add(self, other: ScoreWriteReport) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.stale += other.stale


def _key(r: dict) -> tuple[str, str, str]:
    return r["execution_id"], r["name"], r["source"]


def _same(a: dict, b: dict) -> bool:
    return a["value"] == b["value"] and (a["comment"] or None) == (b["comment"] or None)


def upsert_scores(conn: sa.Connection, rows: Sequence[dict]) -> ScoreWriteReport:
    """Write score rows (dicts with every ``SCORE_COLUMNS`` key, already validated by the
    contract; ``agent_id`` may be None) by the rules above; returns what happened to each."""
    report = ScoreWriteReport()
    if not rows:
        return report
    winners: dict[tuple, dict] = {}
    for r in rows:  # one row per key in the statement (PostgreSQL refuses to touch a row twice)
        k = _key(r)
        prev = winners.get(k)
        if prev is None:
            winners[k] = r
        elif _same(prev, r):
            report.duplicates += 1
        elif r["scored_at"] < prev["scored_at"]:
            report.stale += 1
        else:
            winners[k] = r
            report.updated += 1
    stored = _stored(conn, winners)
    out = []
    for k, r in winners.items():
        old = stored.get(k)
        if old is None:
            report.inserted += 1
        elif _same(old, r):
            report.duplicates += 1
            continue
        elif r["scored_at"] < old["scored_at"]:
            report.stale += 1
            continue
        else:
            report.updated += 1
        out.append({c: r[c] for c in SCORE_COLUMNS})
    for part in chunks(out, 1000):
        conn.execute(_upsert_statement(conn), part)
    return report


def _upsert_statement(conn: sa.Connection):
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(execution_scores)
    t, new = execution_scores.c, stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={"value": new.value, "comment": new.comment, "scored_at": new.scored_at,
              "ingested_at": new.ingested_at, "agent_id": sa.func.coalesce(new.agent_id, t.agent_id)},
        where=t.scored_at <= new.scored_at,
    )


def _stored(conn: sa.Connection, keys: Iterable[tuple]) -> dict[tuple, dict]:
    t = execution_scores.c
    by_exec: dict[str, set] = {}
    for k in keys:
        by_exec.setdefault(k[0], set()).add(k)
    found: dict[tuple, dict] = {}
    for part in chunks(by_exec, 500):
        q = sa.select(t.execution_id, t.name, t.source, t.value, t.comment, t.scored_at).where(
            t.execution_id.in_(part))
        for row in conn.execute(q):
            m = dict(row._mapping)
            k = _key(m)
            if k in by_exec[k[0]]:
                found[k] = m
    return found


def execution_agents(conn: sa.Connection, execution_ids: Iterable[str]) -> dict[str, str]:
    """``{execution_id: agent_id}`` for the ids that are stored (a score must not dangle)."""
    out: dict[str, str] = {}
    for part in chunks(set(execution_ids), 500):
        q = sa.select(executions.c.execution_id, executions.c.agent_id).where(executions.c.execution_id.in_(part))
        out.update((e, a) for e, a in conn.execute(q))
    return out


def dangling_reason(execution_id: str) -> str:
    return (f"execution_id: no execution {execution_id!r} is stored; a score must name a stored execution "
            "(ingest its execution record first, or in the same file)")
