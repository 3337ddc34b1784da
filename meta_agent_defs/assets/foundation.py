"""The ground floor of agent operations: the agent registry and the raw daily log slice."""

from datetime import UTC, datetime

import dagster as dg

from meta_agent import config
from meta_agent.reporting import markdown_table
from meta_agent.store import agents as agent_store
from meta_agent.store import executions as exec_store
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import OpsDatabase

GROUP = "agent_ops"


@dg.asset(group_name=GROUP, kinds={"sql"}, owners=["team:platform"])
def agent_registry(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """Every agent that logs, with owner and team from config/agents.yaml; agents seen in the
    logs but missing from the file are registered automatically."""
    path = config.config_dir() / "agents.yaml"
    entries = agent_store.load_registry_file(path)
    with ops_db.engine.begin() as conn:
        agent_store.apply_registry(conn, entries)
        rows = agent_store.registry_overview(conn)
    unowned = [r["agent_id"] for r in rows if not r["owner"]]
    return dg.MaterializeResult(
        metadata={
            "agents": len(rows),
            "described_in_file": len(entries),
            "without_owner": dg.MetadataValue.json(unowned),
            "registry": dg.MetadataValue.md(markdown_table(rows)),
            "registry_file": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"sql"},
    deps=[agent_registry],
)
def execution_log(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """The raw executions of each UTC day as the SDK and ingest wrote them (by started_at).
    A backfill of many days runs as one run."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    with ops_db.engine.connect() as conn:
        days = exec_store.day_summaries(conn, start, end)
    total = sum(d["executions"] for d in days)
    return dg.MaterializeResult(
        metadata={
            "executions": total,
            "days_with_data": len(days),
            "window": f"{start:%Y-%m-%d} .. {end:%Y-%m-%d} (exclusive)",
            "by_day": dg.MetadataValue.md(markdown_table(days, max_rows=400)),
            "ops_db": ops_db.describe(),
            "read_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


defs = dg.Definitions(assets=[agent_registry, execution_log])
