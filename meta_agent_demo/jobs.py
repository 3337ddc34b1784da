"""The demo's runs: a named job on the instance (``meta_agent_launch``), with a progress line
and a record in the summary. Imported by the Dagster steps only (it loads the code location)."""

from __future__ import annotations

import dagster as dg

from meta_agent_demo.context import DemoContext
from meta_agent_launch import materialization_metadata
from meta_agent_launch import run_job as launch

__all__ = ["materialization_metadata", "run_job"]


def run_job(ctx: DemoContext, job: str, label: str, **kwargs) -> dg.ExecuteInProcessResult:
    with ctx.progress() as bar:
        task = bar.add_task(label, total=1)
        result = launch(job, tags={"meta_agent/source": "demo"}, **kwargs)
        bar.update(task, completed=1)
    ctx.record_run(label, job, result.run_id, result.success)
    return result
