"""SLA verdicts and data-quality results of the daily assets, turned into alerts."""

import json
from datetime import datetime

import dagster as dg

from meta_agent.ops import alerts, monitor
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.resources.notifier import NotifierResource

SLA_ALERT_SENSOR = "sla_alert_sensor"


@dg.sensor(name=SLA_ALERT_SENSOR, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           tags={"meta_agent/capability": "agent_ops"})
def sla_alert_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase,
                     notifier: NotifierResource) -> dg.SensorResult:
    """Reads sla_evaluations (warn/breach) and data_quality_results (rejected rows) written
    since its cursor and raises sla_warning / sla_breach / data_quality alerts — one per agent,
    verdict and day, however often a day is re-evaluated."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    since = {k: datetime.fromisoformat(v) for k, v in cursor.items()}
    n = notifier.get()
    result = monitor.sync_ops_alerts(ops_db.engine, since, notifier=n)
    delivery = alerts.deliver_due(ops_db.engine, n)
    context.log.info(f"ops alerts: {result.as_dict()}; delivery {delivery.as_dict()}")
    return dg.SensorResult(
        cursor=json.dumps({k: v.isoformat() for k, v in result.cursor.items()}),
        skip_reason=dg.SkipReason(
            f"{result.sla_rows} SLA rows and {result.quality_days} data-quality days read; "
            f"{len(result.created)} alerts raised, {result.deduplicated} already there; "
            f"delivered {delivery.sent}, failed {delivery.failed}"),
    )
