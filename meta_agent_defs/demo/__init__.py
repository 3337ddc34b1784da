"""``meta-agent demo``: the main job on the embedded default, one step per capability.

Each capability adds a module here with ``run(ctx: DemoContext)`` and lists it in
``STEPS``; a step does its work through Dagster (so every result is in the UI) and adds a
section to the summary.
"""

from __future__ import annotations

import importlib
import json
import logging
import time

from meta_agent.cli.output import stdout
from meta_agent_defs.demo.context import DemoContext, DemoOptions

# In order. Planned: "agent_ops" (metrics, SLA), "alerts" (health, circuits, alerts),
# "isolation" (sandbox doctor), "script_factory" (requests -> scripts -> runs).
STEPS = ["foundation", "agent_ops", "alerts", "isolation", "script_factory"]

__all__ = ["STEPS", "DemoContext", "DemoOptions", "run_demo"]


def run_demo(options: DemoOptions, as_json: bool = False) -> dict:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx = DemoContext(options=options, as_json=as_json)
    t0 = time.perf_counter()
    for name in STEPS:
        step_t0 = time.perf_counter()
        importlib.import_module(f"meta_agent_defs.demo.{name}").run(ctx)
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
