"""A failed Dagster run becomes a run_failure alert."""

import dagster as dg

from meta_agent.ops import alert_rules, alerts, monitor
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.resources.notifier import NotifierResource

RUN_FAILURE_SENSOR = "run_failure_alert_sensor"


@dg.run_failure_sensor(name=RUN_FAILURE_SENSOR, minimum_interval_seconds=30,
                       default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, ops_db: OpsDatabase,
                             notifier: NotifierResource) -> None:
    """Raises a run_failure alert (agent 'job:<job name>', one per job and hour) with the
    failure message, and delivers it."""
    run = context.dagster_run
    event = context.failure_event
    spec = alert_rules.run_failure_spec(
        run.job_name, run.run_id, event.message, _event_time(context),
        partition=run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start"))
    n = notifier.get()
    result = monitor.raise_run_failure(ops_db.engine, spec, notifier=n)
    delivery = alerts.deliver_due(ops_db.engine, n)
    context.log.info(f"run_failure alert {result.alert_id} ({'new' if result.created else 'deduplicated'}); "
                     f"delivery {delivery.as_dict()}")


def _event_time(context: dg.RunFailureSensorContext):
    from datetime import UTC, datetime

    stats = context.instance.get_run_stats(context.dagster_run.run_id)
    ts = stats.end_time if stats and stats.end_time else None
    return datetime.fromtimestamp(ts, UTC) if ts else datetime.now(UTC)
