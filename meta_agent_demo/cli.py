"""``meta-agent demo``: the main jobs on the embedded default, end to end (a CLI plugin)."""

from __future__ import annotations

import typer

from meta_agent.cli.output import JSON_OPTION
from meta_agent_demo.context import DemoOptions
from meta_agent_demo.runner import run_demo


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    agents: int = typer.Option(8, min=1, help="Agents in the demo fleet."),
    days: int = typer.Option(30, min=1, help="Days of history."),
    per_day: int = typer.Option(300, "--per-day", min=1, help="Typical executions per agent per day."),
    seed: int = typer.Option(7, help="Seed of the demo fleet."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Migrate, simulate a fleet, ingest it, run every capability's jobs through Dagster, summarize."""
    run_demo(DemoOptions(agents=agents, days=days, per_day=per_day, seed=seed), as_json=as_json)
