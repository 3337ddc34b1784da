"""Health and circuit breakers, every 30 seconds."""

import dagster as dg

from meta_agent.ops import health, monitor
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.resources.notifier import NotifierResource

HEALTH_SENSOR = "agent_health_sensor"

# Baselines are computed once per agent and day; the cache lives as long as the code server.
_BASELINES = health.BaselineCache()


@dg.sensor(name=HEALTH_SENSOR, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           tags={"meta_agent/capability": "agent_ops"})
def agent_health_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase,
                        notifier: NotifierResource) -> dg.SkipReason:
    """Evaluates every agent's health (5-minute and 1-hour windows against its own baseline)
    and circuit breaker as of now, records transitions, raises and resolves health_* and
    circuit_open alerts (deduplicated in the database) and delivers what is due."""
    report = monitor.tick(ops_db.engine, notifier=notifier.get(), cache=_BASELINES)
    s = report.summary()
    context.log.info(f"agent health: {s}")
    return dg.SkipReason(
        f"{s['agents']} agents {s['health']}; circuits {s['circuits']}; "
        f"{s['health_transitions']} health and {s['circuit_transitions']} circuit transitions; "
        f"alerts: {s['alerts_created']} new, {s['alerts_deduplicated']} deduplicated, {s['alerts_resolved']} resolved; "
        f"delivery {s['delivery']}; {s['seconds']['total']:.2f}s")
