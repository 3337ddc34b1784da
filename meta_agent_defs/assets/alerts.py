"""Alerts in Dagster: the daily digest asset, the sensors that raise alerts, the notifier.

- ``agent_health_sensor`` (30 s): health + circuit breakers → health_* / circuit_open alerts;
- ``sla_alert_sensor`` (30 s): SLA verdicts and data-quality results → sla_* / data_quality;
- ``run_failure_alert_sensor``: failed runs → run_failure;
- ``alert_digest`` (daily partitions, 03:00 UTC for yesterday): the day's alerts in markdown,
  written under artifacts and sent through the notifier.
"""

from datetime import date

import dagster as dg

from meta_agent import config
from meta_agent.ops import alerts, frames, monitor
from meta_agent.reporting import markdown_table
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.resources.notifier import NotifierResource
from meta_agent_defs.sensors.health import agent_health_sensor
from meta_agent_defs.sensors.ops_alerts import sla_alert_sensor
from meta_agent_defs.sensors.run_failure import run_failure_alert_sensor

GROUP = "agent_ops"


@dg.asset(group_name=GROUP, owners=["team:platform"], partitions_def=daily_partitions,
          backfill_policy=dg.BackfillPolicy.single_run(), kinds={"sql"},
          deps=[dg.AssetKey("sla_compliance"), dg.AssetKey("validated_executions")],
          retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL))
def alert_digest(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                 notifier: NotifierResource) -> dg.MaterializeResult:
    """The day's alerts in one markdown digest (counts by severity and type, each alert with
    its state, time to acknowledge and resolve), saved under artifacts/alerts and sent on every
    notifier channel. The day's SLA and data-quality alerts are raised first (idempotent), so
    the digest never misses them."""
    window = context.partition_time_window
    days = frames.days_in(window.start, window.end)
    n = notifier.get()
    # complete the day's SLA/data-quality alerts (the sensor raised and delivered them already;
    # a backfill of old digests must not page anyone, hence no notifier here)
    monitor.sync_ops_alerts(ops_db.engine, days=days)
    rows, errors, digest = [], [], None
    for day in days:
        digest, path, sent_to, failed = _digest_day(ops_db, n, day)
        rows.append({"day": day.isoformat(), "alerts": len(digest.alerts), "open": digest.open_alerts,
                     "sent_to": ", ".join(sent_to), "path": str(path)})
        errors += failed
    return dg.MaterializeResult(metadata={
        "days": len(days),
        "alerts": sum(r["alerts"] for r in rows),
        "digest_of_last_day": dg.MetadataValue.md(digest.markdown),
        "days_table": dg.MetadataValue.md(markdown_table(rows, max_rows=60)),
        "path": dg.MetadataValue.path(rows[-1]["path"]),
        "delivery_errors": dg.MetadataValue.json(errors),
    })


def _digest_day(ops_db: OpsDatabase, notifier, day: date):
    with ops_db.engine.connect() as conn:
        digest = alerts.build_digest(conn, day)
    path = config.artifacts_dir() / "alerts" / f"digest-{day.isoformat()}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(digest.markdown + "\n", encoding="utf-8")
    sent_to, failed = alerts.send_digest(notifier, digest)
    with ops_db.engine.begin() as conn:
        alerts.write_digest(conn, digest, str(path), sent_to, failed)
    return digest, path, sent_to, failed


alert_digest_job = dg.define_asset_job("alert_digest_daily", selection=[alert_digest],
                                       description="Build and send yesterday's alert digest.")
alert_digest_schedule = dg.build_schedule_from_partitioned_job(
    alert_digest_job, name="alert_digest_0300_utc", hour_of_day=3, minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Yesterday's alert digest at 03:00 UTC (after the 02:00 metrics and SLA run).")

defs = dg.Definitions(
    assets=[alert_digest],
    jobs=[alert_digest_job],
    schedules=[alert_digest_schedule],
    sensors=[agent_health_sensor, sla_alert_sensor, run_failure_alert_sensor],
    resources={"notifier": NotifierResource()},
)
