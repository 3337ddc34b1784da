"""Jobs and schedules of agent operations.

- ``agent_ops_daily``: observe the log, refresh the registry, validate, aggregate and SLA-check
  a day (and run their checks); its
  schedule runs yesterday's partition at 02:00 UTC (a day closes at midnight UTC). A backfill
  of any range is one run (the assets' ``BackfillPolicy.single_run``). The reports, the
  registry and the digest follow by automation condition, not by cron offsets.
- ``sla_reports``: rebuild the rolling reports on demand (automation rebuilds them after
  every daily run).
- ``prune_raw_executions``: retention — deletes raw executions and their actions older than
  ``max_age_days`` (run config, default 90); metrics and SLA history stay. Its schedule
  (03:30 UTC) ships stopped: pruning is opt-in.
"""

import dagster as dg

from meta_agent.ops import retention
from meta_agent_defs.agent_ops.assets import (
    DAILY_ASSETS,
    REPORT_ASSETS,
    agent_registry,
    execution_log,
)
from meta_agent_defs.agent_ops.checks import CHECKS
from meta_agent_defs.resources import OpsDatabase

TAGS = {"meta_agent/capability": "agent_ops"}

agent_ops_daily_job = dg.define_asset_job(
    "agent_ops_daily",
    selection=(dg.AssetSelection.assets(execution_log.key, agent_registry, *DAILY_ASSETS)
               | dg.AssetSelection.checks(*CHECKS)),
    tags=TAGS,
    description="Observe the execution log and refresh the agent registry, then validate, aggregate and "
                "SLA-check one UTC day (or a range), with a data-quality and an SLA verdict per day.",
)

agent_ops_daily_schedule = dg.build_schedule_from_partitioned_job(
    agent_ops_daily_job, name="agent_ops_daily_0200_utc", hour_of_day=2, minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Yesterday's partition of the daily agent-ops assets, at 02:00 UTC.",
)

sla_reports_job = dg.define_asset_job(
    "sla_reports", selection=dg.AssetSelection.assets(*REPORT_ASSETS), tags=TAGS,
    description="Rebuild the rolling weekly and monthly SLA reports (automation does it after each daily run).",
)


class RetentionConfig(dg.Config):
    max_age_days: int = retention.DEFAULT_MAX_AGE_DAYS
    dry_run: bool = False


@dg.op(description="Delete raw executions (and their actions) older than max_age_days.", tags=TAGS)
def prune_executions_op(context: dg.OpExecutionContext, config: RetentionConfig, ops_db: OpsDatabase) -> dict:
    report = retention.prune_executions(ops_db.engine, config.max_age_days, dry_run=config.dry_run)
    verb = "would delete" if report.dry_run else "deleted"
    context.log.info(f"retention: {verb} {report.executions} executions and {report.actions} actions "
                     f"started before {report.cutoff:%Y-%m-%d %H:%M} UTC")
    return report.as_dict()


@dg.job(name="prune_raw_executions", tags=TAGS,
        description="Retention: prune raw executions older than a configured age; metrics stay.")
def prune_raw_executions_job() -> None:
    prune_executions_op()


retention_schedule = dg.ScheduleDefinition(
    name="prune_raw_executions_0330_utc", job=prune_raw_executions_job, cron_schedule="30 3 * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Retention at 03:30 UTC (opt-in: start it to prune raw executions older than 90 days).",
)

JOBS = [agent_ops_daily_job, sla_reports_job, prune_raw_executions_job]
SCHEDULES = [agent_ops_daily_schedule, retention_schedule]
