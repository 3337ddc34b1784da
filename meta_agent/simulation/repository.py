"""Reading and writing the simulation tables (``store/schema_simulation.py``).

Functions take a SQLAlchemy connection; callers own the transaction. A scenario run is one
row per request × scenario, rewritten by each run of its partition.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from meta_agent.simulation.scenario import Scenario, scenario_from_document
from meta_agent.store.schema_simulation import scenario_runs, scenarios


def now() -> datetime:
    return datetime.now(UTC)


def content_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def upsert_scenario(conn: sa.Connection, scenario: Scenario, *, source: str, source_ref: str | None = None) -> bool:
    """Store ``scenario`` under its key (replacing an older document); True when it changed."""
    doc = scenario.to_document()
    digest = content_hash(doc)
    existing = conn.execute(sa.select(scenarios.c.content_hash, scenarios.c.created_at)
                            .where(scenarios.c.scenario_key == scenario.key)).first()
    if existing is not None and existing.content_hash == digest:
        return False
    at = now()
    conn.execute(sa.delete(scenarios).where(scenarios.c.scenario_key == scenario.key))
    conn.execute(sa.insert(scenarios).values(
        scenario_key=scenario.key, name=scenario.name, description=scenario.description or "", source=source,
        source_ref=source_ref, document=doc, content_hash=digest,
        created_at=existing.created_at if existing is not None else at, updated_at=at))
    return True


def scenario_rows(conn: sa.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sa.select(scenarios).order_by(scenarios.c.scenario_key)).mappings()]


def get_scenario(conn: sa.Connection, key: str) -> Scenario | None:
    row = conn.execute(sa.select(scenarios).where(scenarios.c.scenario_key == key)).mappings().first()
    if row is None:
        return None
    return scenario_from_document(row["document"], key=key, source=row["source_ref"] or row["source"])


def write_scenario_run(conn: sa.Connection, row: dict[str, Any]) -> None:
    """The request × scenario row, rewritten."""
    conn.execute(sa.delete(scenario_runs).where((scenario_runs.c.request_id == row["request_id"])
                                                & (scenario_runs.c.scenario_key == row["scenario_key"])))
    conn.execute(sa.insert(scenario_runs).values(**row))


def scenario_runs_for(conn: sa.Connection, request_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sa.select(scenario_runs).where(scenario_runs.c.request_id == request_id)
                                          .order_by(scenario_runs.c.scenario_key)).mappings()]


def read_scenario_run(conn: sa.Connection, request_id: str, key: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(scenario_runs).where((scenario_runs.c.request_id == request_id)
                                                      & (scenario_runs.c.scenario_key == key))).mappings().first()
    return dict(row) if row else None
