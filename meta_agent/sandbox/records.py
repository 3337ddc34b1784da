"""Keeping a run: its files as artifacts under ``META_AGENT_ARTIFACTS`` and its row in the DB.

``keep_run(url, result)`` moves the run's outputs to ``<artifacts>/sandbox/<run_id>/`` (they
are already there when the runner used its default results directory), hashes them, renders
previews of tabular outputs and writes ``sandbox_runs`` + ``sandbox_artifacts`` in one
transaction (delete the run's rows, insert: re-recording a run never duplicates).
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meta_agent.config import artifacts_dir
from meta_agent.sandbox.base import RunResult
from meta_agent.sandbox.results import key_figures, preview_markdown
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_sandbox import sandbox_artifacts, sandbox_runs

STDERR_TAIL_CHARS = 4000


def artifacts_root() -> Path:
    return artifacts_dir() / "sandbox"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def move_to_artifacts(result: RunResult, root: Path | None = None) -> Path:
    """Put the run's results under ``<root>/<run_id>`` (a no-op when already there, and for a
    run that produced no results directory: a refused one)."""
    dest = (root or artifacts_root()) / result.run_id
    if not result.results_dir:
        return dest
    src = Path(result.results_dir)
    if src.resolve() == dest.resolve():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        for entry in sorted(src.iterdir()):
            shutil.move(str(entry), str(dest / entry.name))
        try:
            src.rmdir()
        except OSError:
            pass
    result.results_dir = str(dest)
    return dest


def artifact_rows(result: RunResult, now: datetime) -> list[dict[str, Any]]:
    root = Path(result.results_dir)
    rows = []
    for o in result.outputs:
        p = root / o.path
        if p.is_symlink() or not p.is_file():
            continue
        rows.append({"run_id": result.run_id, "path": o.path[:512], "format": o.format,
                     "size_bytes": o.size_bytes, "sha256": _sha256(p), "artifact_path": str(p),
                     "preview_md": preview_markdown(p) or None if o.format in ("csv", "xlsx") else None,
                     "recorded_at": now})
    return rows


def keep_run(url_or_engine: str | sa.Engine, result: RunResult, *, request_id: str | None = None,
             artifacts: Path | None = None) -> dict[str, Any]:
    """Keep the run's files as artifacts and record it; returns the row written. The run policy's
    decision (provenance, runner, allowed, override used) and the guard switch are in
    ``details`` (``details["policy"]``, ``details["guard"]``); a refused run is recorded too."""
    engine = engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    move_to_artifacts(result, artifacts)
    now = datetime.now(UTC)
    started = result.details.get("started_at")
    row = {
        "run_id": result.run_id, "request_id": request_id,
        "script_sha256": result.details.get("script_sha256", ""), "runner": result.runner[:64],
        "isolation": result.isolation or "unknown", "status": result.status, "exit_code": result.exit_code,
        "message": result.message, "started_at": datetime.fromisoformat(started) if started else now,
        "duration_s": result.duration_s, "peak_memory_mb": result.peak_memory_mb,
        "limits": result.details.get("limits"), "result_json": result.result_json,
        "figures": key_figures(result.result_json) or None,
        "details": {k: v for k, v in result.details.items() if k not in ("limits", "describe")},
        "results_dir": result.results_dir, "stdout_bytes": result.stdout_bytes,
        "stderr_bytes": result.stderr_bytes, "stderr_tail": result.stderr[-STDERR_TAIL_CHARS:] or None,
        "recorded_at": now,
    }
    files = artifact_rows(result, now)
    with engine.begin() as conn:
        conn.execute(sa.delete(sandbox_artifacts).where(sandbox_artifacts.c.run_id == result.run_id))
        conn.execute(sa.delete(sandbox_runs).where(sandbox_runs.c.run_id == result.run_id))
        conn.execute(sa.insert(sandbox_runs), [row])
        if files:
            conn.execute(sa.insert(sandbox_artifacts), files)
    return {**row, "artifacts": files}


def recent_runs(url_or_engine: str | sa.Engine, limit: int = 20) -> list[dict[str, Any]]:
    engine = engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sandbox_runs).order_by(sandbox_runs.c.started_at.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


def run_artifacts(url_or_engine: str | sa.Engine, run_id: str) -> list[dict[str, Any]]:
    engine = engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sandbox_artifacts).where(sandbox_artifacts.c.run_id == run_id)
                            .order_by(sandbox_artifacts.c.path))
        return [dict(r._mapping) for r in rows]
