"""Jobs and schedules of evaluation.

- ``evaluation_daily``: scores, failure embeddings, clusters and root-cause findings of a day
  (or a range: one run) with their checks; its schedule runs yesterday's partition at 03:00
  UTC, after the 02:00 agent-ops run has validated and aggregated the day.
- ``evaluation_weekly``: the agent evaluation reports of an ISO week; its schedule runs the
  week that just closed on Mondays at 04:00 UTC.
"""

from datetime import datetime, timedelta

import dagster as dg

from meta_agent_defs.evaluation.assets import DAILY_ASSETS, agent_evaluation_report
from meta_agent_defs.evaluation.checks import (
    every_failure_embedded,
    regressions_explained,
    report_regressions_have_findings,
)

TAGS = {"meta_agent/capability": "evaluation"}

evaluation_daily_job = dg.define_asset_job(
    "evaluation_daily",
    selection=dg.AssetSelection.assets(*DAILY_ASSETS) | dg.AssetSelection.checks(every_failure_embedded,
                                                                                  regressions_explained),
    tags=TAGS, description="Score, embed, cluster and explain one UTC day of failures (or a range, in one run).")

evaluation_weekly_job = dg.define_asset_job(
    "evaluation_weekly",
    selection=dg.AssetSelection.assets(agent_evaluation_report) | dg.AssetSelection.checks(
        report_regressions_have_findings),
    tags=TAGS, description="Build every agent's evaluation report for one ISO week, against the week before.")

evaluation_daily_schedule = dg.build_schedule_from_partitioned_job(
    evaluation_daily_job, name="evaluation_daily_0300_utc", hour_of_day=3, minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Yesterday's partition of the daily evaluation assets, at 03:00 UTC (after agent ops).")


@dg.schedule(job=evaluation_weekly_job, cron_schedule="0 4 * * 1", execution_timezone="UTC", name="evaluation_weekly_monday_0400_utc",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="The ISO week that just closed, on Mondays at 04:00 UTC.")
def evaluation_weekly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    key = weekly_key(context.scheduled_execution_time)
    return dg.RunRequest(run_key=key, partition_key=key)


def weekly_key(at: datetime) -> str:
    """The ISO week before the one ``at`` falls in (its Monday, the partition key)."""
    return (at - timedelta(days=at.weekday() + 7)).date().isoformat()


JOBS = [evaluation_daily_job, evaluation_weekly_job]
SCHEDULES = [evaluation_daily_schedule, evaluation_weekly_schedule]
