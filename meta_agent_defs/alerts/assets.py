"""Alerts in Dagster: the daily digest and the fleet-health overview.

- ``alert_digest`` (daily): the day's alerts in one markdown digest, kept under artifacts and
  sent on every notifier channel; materialized for the latest day once its SLA verdicts and
  data-quality results are in (``AutomationCondition.eager``), so a backfill of old days
  never pages anyone.
- ``fleet_health``: each agent's status, every recent incident line (seen → breached →
  alerted) and open alerts by severity — the page to open first.
"""

import dagster as dg

from meta_agent import units
from meta_agent.ops import frames, monitor
from meta_agent.ops.digests import publish_digest
from meta_agent.ops.fleet_health import fleet_health as build_fleet_health
from meta_agent_defs.agent_ops.assets import sla_compliance, validated_executions
from meta_agent_defs.metadata import Column, path, table
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import ArtifactStore, NotifierResource, OpsDatabase

GROUP = "alerts"
OWNERS = ["team:platform"]
TAGS = {"meta_agent/capability": "alerts"}
FLEET_DAYS = 7


@dg.asset(group_name=GROUP, owners=OWNERS, tags=TAGS, partitions_def=daily_partitions, kinds={"sql", "markdown"},
          backfill_policy=dg.BackfillPolicy.single_run(), deps=[sla_compliance, validated_executions],
          automation_condition=dg.AutomationCondition.eager(),
          retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL))
def alert_digest(context: dg.AssetExecutionContext, ops_db: OpsDatabase, notifier: NotifierResource,
                 artifacts: ArtifactStore) -> dg.MaterializeResult:
    """The day's alerts in one markdown digest (counts by severity and type, each alert with
    its state, time to acknowledge and resolve), saved under artifacts/alerts and sent on
    every notifier channel. The day's SLA and data-quality alerts are raised first
    (idempotent, without paging: the sensor already did), so the digest never misses them."""
    window = context.partition_time_window
    days = frames.days_in(window.start, window.end)
    monitor.sync_ops_alerts(ops_db.engine, days=days)
    n = notifier.get()
    for day in days:
        p = publish_digest(ops_db.engine, n, day, artifacts.dir("alerts"))
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "alerts": len(p.digest.alerts),
            "open": p.digest.open_alerts,
            "by_severity": units.tally(p.digest.by_severity),
            "sent_to": ", ".join(p.sent_to),
            "delivery_errors": "; ".join(p.errors),
            "digest": dg.MetadataValue.md(p.digest.markdown),
            "file": path(p.path),
        })
    return dg.MaterializeResult()


AGENT_STATUS = [Column("agent"), Column("health", description="healthy / degraded / critical, as of the last tick"),
                Column("reason"), Column("since", description="in this status since (UTC)"),
                Column("circuit", description="closed / open / half_open (or a manual override)"),
                Column("breach_days", "int", "days with an SLA breach in the window"),
                Column("open_alerts", "int", "open or acknowledged alerts")]
INCIDENTS = [Column("day"), Column("agent"), Column("seen", description="health findings that day"),
             Column("breached", description="SLA metrics breached, % of budget used"),
             Column("alerts", description="alerts raised: #id type (severity, state)")]


@dg.asset(group_name=GROUP, owners=OWNERS, tags=TAGS, kinds={"sql"}, deps=[sla_compliance, alert_digest],
          automation_condition=(dg.AutomationCondition.any_deps_updated()
                                | dg.AutomationCondition.cron_tick_passed("0 * * * *")).since_last_handled()
          & ~dg.AutomationCondition.in_progress())
def fleet_health(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """The fleet at a glance: every agent's health and circuit now, each agent-day of the
    last week with what was seen, which SLA metrics it breached and which alerts it raised,
    and the open alerts by severity. Refreshed after the daily run and hourly."""
    with ops_db.engine.connect() as conn:
        fh = build_fleet_health(conn, days=FLEET_DAYS)
    counts = fh.status_counts()
    return dg.MaterializeResult(metadata={
        "window": f"{fh.first_day} .. {fh.last_day}",
        "agents": len(fh.agents),
        "healthy": counts.get("healthy", 0),
        "degraded": counts.get("degraded", 0),
        "critical": counts.get("critical", 0),
        "open_critical_alerts": fh.open_critical,
        "open_alerts_by_severity": units.tally(fh.open_by_severity),
        "incident_lines": len(fh.incidents),
        "breaches_without_alert": sum(1 for i in fh.incidents if i["breached"] and not i["alerted"]),
        "agents_now": table([{**a, "since": f"{a['since']:%Y-%m-%d %H:%M}" if a["since"] else ""}
                             for a in fh.agents], AGENT_STATUS),
        "incidents": table(fh.incidents, INCIDENTS),
    })


ASSETS = [alert_digest, fleet_health]
