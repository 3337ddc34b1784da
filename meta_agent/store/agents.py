"""The agent registry: agents seen in the logs, described by ``config/agents.yaml``.

An agent that logs for the first time is registered automatically (never rejected); the
YAML file adds what logs cannot say: display name, owner, team, description.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meta_agent.errors import InputError
from meta_agent.records.contract import explain
from meta_agent.store.schema import agents, executions
from meta_agent.store.sql import upsert


class AgentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=128)
    display_name: str | None = None
    owner: str | None = None
    team: str | None = None
    description: str | None = None


def load_registry_file(path: Path) -> list[AgentEntry]:
    """Parse ``agents: [{agent_id, owner, team, ...}]``; errors name the file, entry and field."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}).") from None
    items = doc.get("agents") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a top-level 'agents:' list of entries with agent_id.")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(AgentEntry.model_validate(item))
        except ValidationError as exc:
            raise InputError(f"{path}: agents[{i}]: {explain(exc)}.") from None
    return out


def apply_registry(conn: sa.Connection, entries: list[AgentEntry]) -> int:
    """Upsert the descriptive fields of ``entries`` (first/last seen stay as the logs say)."""
    now = datetime.now(UTC)
    rows = [{**e.model_dump(), "registered_at": now} for e in entries]
    if rows:
        existing = set(conn.execute(sa.select(agents.c.agent_id)).scalars())
        new = [r for r in rows if r["agent_id"] not in existing]
        old = [{k: v for k, v in r.items() if k != "registered_at"} for r in rows if r["agent_id"] in existing]
        upsert(conn, agents, new, keys=["agent_id"])
        for r in old:
            conn.execute(agents.update().where(agents.c.agent_id == r["agent_id"]).values(**r))
    return len(rows)


def registry_overview(conn: sa.Connection) -> list[dict]:
    """Every agent with its description and how many executions it has logged."""
    counts = (
        sa.select(executions.c.agent_id, sa.func.count().label("executions"))
        .group_by(executions.c.agent_id)
        .subquery()
    )
    q = (
        sa.select(agents.c.agent_id, agents.c.team, agents.c.owner, agents.c.first_seen_at,
                  agents.c.last_seen_at, sa.func.coalesce(counts.c.executions, 0).label("executions"))
        .select_from(agents.outerjoin(counts, counts.c.agent_id == agents.c.agent_id))
        .order_by(agents.c.agent_id)
    )
    return [dict(r._mapping) for r in conn.execute(q)]
