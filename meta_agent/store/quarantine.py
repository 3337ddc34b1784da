"""Quarantined records: everything rejected is kept, with where it came from and why."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from meta_agent.store.schema import quarantine


@dataclass(frozen=True)
class Rejected:
    kind: str  # "execution" | "action" | "line"
    source: str  # "path/to/file.jsonl:12", "sdk:<agent>" ...
    reason: str
    record: Any  # the raw record (dict/str) as received
    execution_id: str | None = None


def add(conn: sa.Connection, items: Sequence[Rejected]) -> int:
    if not items:
        return 0
    now = datetime.now(UTC)
    conn.execute(
        quarantine.insert(),
        [
            {
                "kind": r.kind,
                "source": r.source[:512],
                "execution_id": (r.execution_id or None) and str(r.execution_id)[:64],
                "reason": r.reason,
                "record": r.record if isinstance(r.record, str) else json.dumps(r.record, default=str),
                "quarantined_at": now,
            }
            for r in items
        ],
    )
    return len(items)


def list_recent(conn: sa.Connection, limit: int = 50, source_like: str | None = None) -> list[dict]:
    q = sa.select(quarantine).order_by(quarantine.c.quarantine_id.desc()).limit(limit)
    if source_like:
        q = q.where(quarantine.c.source.like(f"%{source_like}%"))
    return [dict(r._mapping) for r in conn.execute(q)]


def count(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one()
