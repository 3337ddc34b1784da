"""Runs the demo's steps in order and prints what they found."""

from __future__ import annotations

import importlib
import json
import logging
import time

from meta_agent.cli.output import stdout
from meta_agent_demo.context import DemoContext, DemoOptions

# In order; each is meta_agent_demo.steps.<name> with ``run(ctx)``. They are imported when
# their turn comes: the code location (imported by the Dagster steps) reads where the daily
# partitions start from the ops DB, which the first step fills.
STEPS = ("foundation", "agent_ops", "alerts", "isolation", "script_factory", "simulation", "evaluation",
         "improvement")


def run_demo(options: DemoOptions, as_json: bool = False, steps: tuple[str, ...] = STEPS) -> dict:
    """Run ``steps`` (in STEPS order) and print or return the summary."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx = DemoContext(options=options, as_json=as_json)
    t0 = time.perf_counter()
    for name in [s for s in STEPS if s in steps]:
        step_t0 = time.perf_counter()
        importlib.import_module(f"meta_agent_demo.steps.{name}").run(ctx)
        ctx.summary.setdefault("step_seconds", {})[name] = round(time.perf_counter() - step_t0, 2)
    ctx.summary["wall_seconds"] = round(time.perf_counter() - t0, 2)
    ctx.summary["next"] = ctx.next_steps
    if as_json:
        print(json.dumps(ctx.summary, default=str))
    else:
        for renderable in ctx.sections:
            stdout.print(renderable)
        stdout.print(f"\n[bold green]demo finished in {ctx.summary['wall_seconds']:.1f}s[/]")
        for line in ctx.next_steps:
            stdout.print(f"  next: {line}")
    return ctx.summary
