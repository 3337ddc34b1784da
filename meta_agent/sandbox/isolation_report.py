"""One call for the ``sandbox_probe`` asset and the demo: where we run, which runner scripts
get, a probe script through it, kept in ``sandbox_runs``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from meta_agent.sandbox.base import RunLimits, ScriptRunner
from meta_agent.sandbox.doctor import PROBE_SCRIPT, strength_of
from meta_agent.sandbox.policy import PROVENANCES, decide
from meta_agent.sandbox.probe import where_am_i
from meta_agent.sandbox.records import keep_run
from meta_agent.sandbox.select import get_runner


def probe_and_record(engine: sa.Engine | str, runner: ScriptRunner | None = None,
                     dagster_run_id: str | None = None, allow_weak_isolation: bool = False) -> dict[str, Any]:
    """``runner``: the one scripts get here (the sandbox resource's; default: the environment's);
    ``decisions``: what the run policy lets each provenance do under it (with the resource's
    ``allow_weak_isolation``)."""
    where = where_am_i()
    runner = runner or get_runner()
    # The probe is our own fixed script, vetted like the templates: provenance "template".
    res = runner.run(PROBE_SCRIPT, {}, RunLimits(timeout_s=60, memory_mb=128), provenance="template")
    if dagster_run_id:
        res.details["dagster_run_id"] = dagster_run_id
    res.details["caller"] = where
    keep_run(engine, res, request_id=None)
    doc = res.result_json or {}
    return {"where": where, "runner": res.runner, "isolation": res.isolation, "strength": strength_of(res.runner),
            "policy": res.details.get("policy"),
            "decisions": {p: decide(p, res.runner, allow_weak_isolation).as_dict() for p in PROVENANCES},
            "probe": {"run_id": res.run_id, "status": res.status, "seconds": res.duration_s,
                      "network": doc.get("network"), "uid": doc.get("uid"), "message": res.message}}
