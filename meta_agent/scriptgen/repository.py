"""Reading and writing the script factory's tables (``store/schema_scripts.py``).

Functions take a SQLAlchemy connection; callers own the transaction (``engine.begin()``), so
a per-request rewrite (delete the request's row, insert the new one) is atomic.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.scriptgen.planning import check_request_text
from meta_agent.store.schema_scripts import (
    REQUEST_SOURCES,
    script_generations,
    script_library,
    script_plans,
    script_requests,
    script_runs,
    scripts,
)
from meta_agent.store.sql import insert_ignore

FORMATS = ("csv", "xlsx", "pdf", "json")


def now() -> datetime:
    return datetime.now(UTC)


def new_request_id(at: datetime | None = None, seed: str | None = None) -> str:
    """``req-YYYYMMDD-HHMMSS-xxxxxx``: sortable, and a valid Dagster partition key. ``seed``
    makes the suffix deterministic (a drop-folder file registers once however often it is seen)."""
    at = at or now()
    suffix = hashlib.sha256(seed.encode()).hexdigest()[:6] if seed else secrets.token_hex(3)
    return f"req-{at:%Y%m%d-%H%M%S}-{suffix}"


def submit_request(conn: sa.Connection, text: str, *, source: str = "cli", output_format: str | None = None,
                   source_ref: str | None = None, metadata: dict[str, Any] | None = None,
                   request_id: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Record a new request (status ``received``); returns its row. Idempotent on ``request_id``."""
    text = check_request_text(text)
    if source not in REQUEST_SOURCES:
        raise InputError(f"request source '{source}' is not one of {', '.join(REQUEST_SOURCES)}.")
    if output_format is not None:
        output_format = output_format.strip().lower().lstrip(".")
        output_format = {"excel": "xlsx", "xls": "xlsx"}.get(output_format, output_format)
        if output_format not in FORMATS:
            raise InputError(f"--format '{output_format}' is not one of {', '.join(FORMATS)}.")
    at = at or now()
    row = {"request_id": request_id or new_request_id(at), "text": text, "output_format": output_format,
           "source": source, "source_ref": source_ref, "status": "received",
           "message": "waiting to be planned", "submitted_at": at, "updated_at": at, "metadata": metadata}
    insert_ignore(conn, script_requests, [row])
    return get_request(conn, row["request_id"])


def get_request(conn: sa.Connection, request_id: str) -> dict[str, Any]:
    row = conn.execute(sa.select(script_requests).where(script_requests.c.request_id == request_id)).mappings().first()
    if row is None:
        raise InputError(f"no script request '{request_id}'; see 'meta-agent script list'.")
    return dict(row)


def list_requests(conn: sa.Connection, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    r, g, run = script_requests, script_generations, script_runs
    stmt = (sa.select(r.c.request_id, r.c.text, r.c.source, r.c.status, r.c.message, r.c.submitted_at,
                      g.c.script_id, g.c.reused, run.c.status.label("run_status"))
            .select_from(r.outerjoin(g, g.c.request_id == r.c.request_id)
                         .outerjoin(run, run.c.request_id == r.c.request_id))
            .order_by(r.c.submitted_at.desc(), r.c.request_id.desc()).limit(limit))
    if status:
        stmt = stmt.where(r.c.status == status)
    return [dict(x) for x in conn.execute(stmt).mappings()]


def request_ids(conn: sa.Connection, *, status: str | None = None) -> list[str]:
    stmt = sa.select(script_requests.c.request_id).order_by(script_requests.c.submitted_at,
                                                           script_requests.c.request_id)
    if status:
        stmt = stmt.where(script_requests.c.status == status)
    return list(conn.execute(stmt).scalars())


def set_status(conn: sa.Connection, request_id: str, status: str, message: str) -> None:
    conn.execute(sa.update(script_requests).where(script_requests.c.request_id == request_id)
                 .values(status=status, message=message[:2000], updated_at=now()))


def _replace(conn: sa.Connection, table: sa.Table, request_id: str, row: dict[str, Any]) -> None:
    conn.execute(sa.delete(table).where(table.c.request_id == request_id))
    conn.execute(sa.insert(table), [row])


def write_plan(conn: sa.Connection, request_id: str, *, planner: str, requirements: dict | None,
               refusal: dict | None, fingerprint: str | None, duration_ms: float, attempts: int) -> None:
    _replace(conn, script_plans, request_id, {
        "request_id": request_id, "planner": planner, "status": "planned" if requirements else "refused",
        "fingerprint": fingerprint, "requirements": requirements, "refusal": refusal, "attempts": attempts,
        "duration_ms": duration_ms, "planned_at": now()})


def read_plan(conn: sa.Connection, request_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(script_plans).where(script_plans.c.request_id == request_id)).mappings().first()
    return dict(row) if row else None


def save_script(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Content-addressed: the same source is stored once; its latest validation is kept."""
    insert_ignore(conn, scripts, [row])
    conn.execute(sa.update(scripts).where(scripts.c.script_id == row["script_id"])
                 .values(valid=row["valid"], validation=row["validation"]))


def get_script(conn: sa.Connection, script_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(scripts).where(scripts.c.script_id == script_id)).mappings().first()
    return dict(row) if row else None


def write_generation(conn: sa.Connection, row: dict[str, Any]) -> None:
    _replace(conn, script_generations, row["request_id"], row)


def read_generation(conn: sa.Connection, request_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(script_generations)
                       .where(script_generations.c.request_id == request_id)).mappings().first()
    return dict(row) if row else None


# The run policy's decision (meta_agent.sandbox.policy: provenance, runner, allowed, override
# used, guard) is kept in the run row's ``result`` JSON under this key — script_runs has no
# column of its own for it. ``write_run`` puts it there (over anything the script's
# result.json had under that name: a script cannot forge it), ``read_run`` takes it out again
# as ``row["policy"]``, so ``row["result"]`` stays the script's own result.json.
POLICY_KEY = "meta_agent_run_policy"


def write_run(conn: sa.Connection, row: dict[str, Any]) -> None:
    """One row per request (rewritten); ``row["policy"]``: the run policy's decision."""
    row = dict(row)
    policy = row.pop("policy", None)
    result = {k: v for k, v in (row.get("result") or {}).items() if k != POLICY_KEY}
    if policy is not None:
        result[POLICY_KEY] = policy
    row["result"] = result or None
    _replace(conn, script_runs, row["request_id"], row)


def read_run(conn: sa.Connection, request_id: str) -> dict[str, Any] | None:
    """The request's run row; ``policy`` holds the run policy's decision (None for runs
    recorded before there was one)."""
    row = conn.execute(sa.select(script_runs).where(script_runs.c.request_id == request_id)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["policy"] = None
    if isinstance(out["result"], dict):
        result = dict(out["result"])
        out["policy"] = result.pop(POLICY_KEY, None)
        out["result"] = result or None
    return out


def library_entry(conn: sa.Connection, fingerprint: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(script_library)
                       .where(script_library.c.fingerprint == fingerprint)).mappings().first()
    return dict(row) if row else None


def library_record_success(conn: sa.Connection, *, fingerprint: str, script_id: str, description: str,
                           shape: dict, request_id: str) -> None:
    """Keep a validated script that ran successfully (first one per shape wins)."""
    at = now()
    insert_ignore(conn, script_library, [{
        "fingerprint": fingerprint, "script_id": script_id, "description": description, "shape": shape,
        "first_request_id": request_id, "successes": 0, "reuses": 0, "created_at": at, "last_used_at": at}])
    conn.execute(sa.update(script_library).where(script_library.c.fingerprint == fingerprint)
                 .values(successes=script_library.c.successes + 1, last_used_at=at))


def library_remove(conn: sa.Connection, fingerprint: str) -> None:
    conn.execute(sa.delete(script_library).where(script_library.c.fingerprint == fingerprint))


def library_record_reuse(conn: sa.Connection, fingerprint: str) -> None:
    conn.execute(sa.update(script_library).where(script_library.c.fingerprint == fingerprint)
                 .values(reuses=script_library.c.reuses + 1, last_used_at=now()))


def library(conn: sa.Connection) -> list[dict[str, Any]]:
    lib = script_library
    return [dict(r) for r in conn.execute(
        sa.select(lib.c.fingerprint, lib.c.script_id, lib.c.description, lib.c.first_request_id,
                  lib.c.successes, lib.c.reuses, lib.c.last_used_at).order_by(lib.c.created_at)).mappings()]


def reuse_stats(conn: sa.Connection) -> dict[str, Any]:
    """How often a request got a library script instead of a new one."""
    g = script_generations
    total, reused = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((g.c.reused, 1), else_=0)), 0))).one()
    shapes = conn.execute(sa.select(sa.func.count()).select_from(script_library)).scalar()
    return {"generations": int(total), "reused": int(reused), "generated": int(total) - int(reused),
            "reuse_rate": round(int(reused) / int(total), 4) if total else 0.0, "library_scripts": int(shapes)}
