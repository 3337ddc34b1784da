"""``meta-agent fleet``: synthetic executions for a demo fleet, with injectable incidents."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from meta_agent import config
from meta_agent.cli.output import JSON_OPTION, emit, progress, stdout, table
from meta_agent.errors import InputError
from meta_agent.fleet import FleetSpec, default_incidents, estimate_count, fleet, parse_incident
from meta_agent.fleet import simulate as simulate_fleet
from meta_agent.store.ingest import ingest_items

app = typer.Typer(help="The demo fleet: simulate realistic agent executions.", no_args_is_help=True)


@app.command()
def simulate(
    agents: int = typer.Option(8, min=1, max=200, help="Number of agents."),
    days: int = typer.Option(30, min=1, max=3650, help="Days of history, ending --end-date."),
    per_day: int = typer.Option(300, "--per-day", min=1, help="Typical executions per agent per day."),
    seed: int = typer.Option(7, help="Same seed and end date, same data."),
    end_date: str = typer.Option(None, help="Last simulated day (YYYY-MM-DD); default yesterday (UTC)."),
    incident: list[str] = typer.Option(None, help="KIND:AGENT:DAY (DAY = YYYY-MM-DD or -N); repeatable."),
    demo_incidents: bool = typer.Option(True, help="Inject the demo's four incidents when no --incident is given."),
    out: Path = typer.Option(None, help="Write JSONL here instead of loading into the ops database."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate executions; load them into the ops DB, or write a JSONL file with --out."""
    end = _parse_end(end_date)
    ids = [p.agent_id for p in fleet(agents)]
    spec = FleetSpec(agents=agents, days=days, per_day=per_day, seed=seed, end=end)
    if incident:
        spec.incidents = [parse_incident(s, end=end, days=days, agent_ids=ids) for s in incident]
    elif demo_incidents:
        spec.incidents = default_incidents(ids, end, days)
    result = run_simulation(spec, out, show_progress=not as_json)
    result["incidents"] = [i.describe() for i in spec.incidents]

    def human() -> None:
        stdout.print(table("fleet", ["agents", "days", "executions", "actions", "written to"],
                           [(agents, f"{spec.start}..{spec.end}", result["executions"], result["actions"], result["target"])]))
        for line in result["incidents"]:
            stdout.print(f"  incident: {line}")

    emit(result, as_json, human)


def run_simulation(spec, out: Path | None, show_progress: bool) -> dict:
    """Simulate ``spec`` into ``out`` (JSONL) or the ops database; returns counts."""
    total = estimate_count(spec)
    counts = {"executions": 0, "actions": 0}
    with progress(show_progress) as bar:
        task = bar.add_task("simulate fleet", total=total)

        def records():
            for rec in simulate_fleet(spec):
                counts["executions"] += 1
                counts["actions"] += len(rec["actions"])
                if counts["executions"] % 1000 == 0:
                    bar.update(task, completed=min(counts["executions"], total))
                yield rec

        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8") as f:
                for rec in records():
                    f.write(json.dumps(rec) + "\n")
            target = str(out)
        else:
            report = ingest_items(((f"fleet:{r['execution_id']}", r) for r in records()),
                                  source="fleet", origin="fleet")
            target = f"ops database ({report.accepted} new, {report.duplicates} already there)"
        bar.update(task, completed=counts["executions"], total=counts["executions"])
    return {**counts, "target": target, "start": spec.start.isoformat(), "end": spec.end.isoformat(),
            "seed": spec.seed, "agents": spec.agents, "db": config.redact_url(config.db_url())}


def _parse_end(end_date: str | None) -> date:
    if not end_date:
        return datetime.now(UTC).date() - timedelta(days=1)
    try:
        return date.fromisoformat(end_date)
    except ValueError:
        raise InputError(f"--end-date '{end_date}' is not a date; use YYYY-MM-DD.") from None
