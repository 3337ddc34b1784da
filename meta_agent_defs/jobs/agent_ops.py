"""Jobs and schedules of agent operations.

- ``agent_ops_daily``: the daily partitioned assets; its schedule materializes yesterday's
  partition at 02:00 UTC (the daily partitions close at midnight UTC). Backfills of any
  range run as one run per range (the assets' ``BackfillPolicy.single_run``).
- ``sla_reports``: the rolling weekly/monthly SLA reports, at 02:30 UTC.
- ``prune_raw_executions``: retention; deletes raw executions and their actions older than
  ``max_age_days`` (run config, default 90), leaving metrics and SLA history intact. Its
  schedule (03:30 UTC) ships stopped: pruning is opt-in.
"""


import dagster as dg

from meta_agent.ops import retention
from meta_agent_defs.resources import OpsDatabase

DAILY_ASSET_KEYS = ["execution_log", "validated_executions", "daily_agent_metrics", "sla_compliance"]
REPORT_ASSET_KEYS = ["sla_report_weekly", "sla_report_monthly"]

agent_ops_daily_job = dg.define_asset_job(
    "agent_ops_daily",
    selection=dg.AssetSelection.assets(*DAILY_ASSET_KEYS),  # daily partitions, inferred from the assets
    description="Validate, aggregate and SLA-check the executions of one UTC day (or a range).",
)

agent_ops_daily_schedule = dg.build_schedule_from_partitioned_job(
    agent_ops_daily_job,
    name="agent_ops_daily_0200_utc",
    hour_of_day=2,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Materializes yesterday's partition of the daily agent-ops assets at 02:00 UTC.",
)

sla_reports_job = dg.define_asset_job(
    "sla_reports",
    selection=dg.AssetSelection.assets(*REPORT_ASSET_KEYS),
    description="Rebuild the rolling weekly and monthly SLA reports.",
)

sla_reports_schedule = dg.ScheduleDefinition(
    name="sla_reports_0230_utc",
    job=sla_reports_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


class RetentionConfig(dg.Config):
    max_age_days: int = retention.DEFAULT_MAX_AGE_DAYS
    dry_run: bool = False


@dg.op(description="Delete raw executions (and their actions) older than max_age_days.")
def prune_executions_op(context: dg.OpExecutionContext, config: RetentionConfig, ops_db: OpsDatabase) -> dict:
    report = retention.prune_executions(ops_db.engine, config.max_age_days, dry_run=config.dry_run)
    verb = "would delete" if report.dry_run else "deleted"
    context.log.info(f"retention: {verb} {report.executions} executions and {report.actions} actions "
                     f"started before {report.cutoff:%Y-%m-%d %H:%M} UTC")
    return report.as_dict()


@dg.job(name="prune_raw_executions", tags={"meta_agent/capability": "agent_ops"},
        description="Retention: prune raw executions older than a configured age; metrics stay.")
def prune_raw_executions_job() -> None:
    prune_executions_op()


retention_schedule = dg.ScheduleDefinition(
    name="prune_raw_executions_0330_utc",
    job=prune_raw_executions_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

JOBS = [agent_ops_daily_job, sla_reports_job, prune_raw_executions_job]
SCHEDULES = [agent_ops_daily_schedule, sla_reports_schedule, retention_schedule]
