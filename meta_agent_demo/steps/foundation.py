"""Demo step 1: migrate, simulate the fleet to JSONL, ingest it (the way agents' logs arrive)
and summarize the fleet. No Dagster yet: the code location, imported by the next step, starts
its daily partitions where this data starts."""

from __future__ import annotations

from meta_agent import config, units
from meta_agent.cli.fleet import run_simulation
from meta_agent.cli.output import table
from meta_agent.fleet import FleetSpec, default_incidents, fleet
from meta_agent.ops.overview import fleet_overview
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for
from meta_agent.store.ingest import ingest_file
from meta_agent_demo.context import DemoContext


def run(ctx: DemoContext) -> None:
    o = ctx.options
    st = migrate.upgrade()
    ctx.note(f"ops database {st.url} migrated to {', '.join(st.current)}")

    ids = [p.agent_id for p in fleet(o.agents)]
    spec = FleetSpec(agents=o.agents, days=o.days, per_day=o.per_day, seed=o.seed, end=o.end,
                     incidents=default_incidents(ids, o.end, o.days))
    path = config.artifacts_dir() / "fleet" / f"fleet-seed{o.seed}-{o.start}-{o.end}.jsonl"
    sim = run_simulation(spec, path, show_progress=not ctx.as_json)

    with ctx.progress() as bar:
        size = path.stat().st_size
        task = bar.add_task("ingest fleet log", total=size)
        report = ingest_file(path, progress=lambda n: bar.advance(task, n))

    with engine_for(config.db_url()).connect() as conn:
        overview = fleet_overview(conn, o.start, o.end)
    ctx.summary["foundation"] = {
        "db": ctx.db_label(),
        "fleet_file": str(path),
        "window": [o.start.isoformat(), o.end.isoformat()],
        "simulated": {"executions": sim["executions"], "actions": sim["actions"]},
        "ingest": report.as_dict(),
        "incidents": [i.describe() for i in spec.incidents],
        "agents": overview,
    }
    ctx.sections.append(table(
        f"fleet {o.start} .. {o.end}: {report.accepted:,} new executions ingested, "
        f"{report.duplicates:,} already there, {report.quarantined} quarantined",
        ["agent", "executions", "success rate", "median latency", "cost $", "human %"],
        [(r["agent_id"], f"{r['executions']:,}", f"{r['success_rate']:.1%}", units.duration_ms(r["latency_p50_ms"]),
          f"{r['cost_usd']:.2f}", f"{r['human_rate']:.1%}") for r in overview],
    ))
    ctx.sections.append("[bold]incidents injected[/] (later steps should find them):\n" +
                        "\n".join(f"  • {i.describe()}" for i in spec.incidents))
    ctx.sections.append(f"ops database: {ctx.db_label()}\nfleet log: {path}")
