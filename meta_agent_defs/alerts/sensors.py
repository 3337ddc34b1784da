"""The alert sensors: cheap, bounded ticks that raise alerts and request delivery runs.

- ``agent_health_sensor`` (30 s): health (5-minute and 1-hour windows against each agent's own
  baseline) and circuit breakers as of now; records transitions and raises/resolves
  health_* and circuit_open alerts (deduplicated by the database). 0.5–0.9 s at 10k
  executions/min (benchmarks/bench_sensor_ticks.py).
- ``sla_alert_sensor`` (30 s): SLA verdicts and data-quality results written since its cursor
  → sla_warning / sla_breach / data_quality alerts.
- ``run_failure_alert_sensor``: a failed run → a run_failure alert.
- ``alert_delivery_sensor`` (30 s): when deliveries are due, requests an ``alert_delivery``
  run; sending (which can block on a slow channel) happens there, never in a tick.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from meta_agent.ops import alert_rules, alerts, health, monitor
from meta_agent_defs.alerts.jobs import alert_delivery_job
from meta_agent_defs.resources import NotifierResource, OpsDatabase, RepoConfig

TAGS = {"meta_agent/capability": "alerts"}
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED]

# Baselines are computed once per agent and day; the cache lives as long as the code server.
_BASELINES = health.BaselineCache()


@dg.sensor(name="agent_health_sensor", minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           tags=TAGS, description="Every 30 s: each agent's health and circuit breaker as of now; raises and "
                                  "resolves health and circuit alerts (delivery is the alert_delivery job's).")
def agent_health_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase, notifier: NotifierResource,
                        repo_config: RepoConfig) -> dg.SensorResult:
    report = monitor.tick(ops_db.engine, monitoring=repo_config.monitoring(), notifier=notifier.get(),
                          deliver=False, cache=_BASELINES)
    s = report.summary()
    message = (f"{s['agents']} agents {s['health']}; circuits {s['circuits']}; {s['health_transitions']} health and "
               f"{s['circuit_transitions']} circuit transitions; alerts {s['alerts_created']} new, "
               f"{s['alerts_deduplicated']} deduplicated, {s['alerts_resolved']} resolved; {s['seconds']['total']:.2f} s")
    context.log.info(message)
    return dg.SensorResult(skip_reason=dg.SkipReason(message), cursor=report.as_of.isoformat())


@dg.sensor(name="sla_alert_sensor", minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           tags=TAGS, description="Every 30 s: SLA verdicts and data-quality results stored since the cursor "
                                  "become sla_warning / sla_breach / data_quality alerts (one per agent, verdict, day).")
def sla_alert_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase,
                     notifier: NotifierResource) -> dg.SensorResult:
    since = {k: datetime.fromisoformat(v) for k, v in json.loads(context.cursor or "{}").items()}
    result = monitor.sync_ops_alerts(ops_db.engine, since, notifier=notifier.get())
    message = (f"{result.sla_rows} SLA rows and {result.quality_days} data-quality days read; "
               f"{len(result.created)} alerts raised, {result.deduplicated} already there")
    context.log.info(message)
    return dg.SensorResult(cursor=json.dumps({k: v.isoformat() for k, v in result.cursor.items()}),
                           skip_reason=dg.SkipReason(message))


@dg.run_failure_sensor(name="run_failure_alert_sensor", minimum_interval_seconds=30,
                       default_status=dg.DefaultSensorStatus.RUNNING,
                       description="A failed run becomes a run_failure alert (agent 'job:<name>', one per job and hour).")
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, ops_db: OpsDatabase,
                             notifier: NotifierResource) -> None:
    run = context.dagster_run
    stats = context.instance.get_run_stats(run.run_id)
    at = datetime.fromtimestamp(stats.end_time, UTC) if stats and stats.end_time else datetime.now(UTC)
    spec = alert_rules.run_failure_spec(
        run.job_name, run.run_id, context.failure_event.message, at,
        partition=run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start"))
    result = monitor.raise_run_failure(ops_db.engine, spec, notifier=notifier.get())
    context.log.info(f"run_failure alert {result.alert_id} ({'new' if result.created else 'deduplicated'}) "
                     f"for {run.job_name} run {run.run_id[:8]}")


@dg.sensor(name="alert_delivery_sensor", job=alert_delivery_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING, tags=TAGS,
           description="Every 30 s: when alert deliveries are due, requests an alert_delivery run (one at a time).")
def alert_delivery_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase,
                          notifier: NotifierResource) -> dg.SensorResult:
    now = datetime.now(UTC)
    with ops_db.engine.connect() as conn:
        due = alerts.due_deliveries(conn, notifier.get().names, now)
    if not due.due:
        later = f", next due {due.next_at:%H:%M:%S} UTC" if due.next_at else ""
        return dg.SensorResult(skip_reason=f"nothing due ({due.pending} pending{later})", cursor=due.key)
    running = context.instance.get_runs(dg.RunsFilter(job_name=alert_delivery_job.name, statuses=IN_PROGRESS), limit=1)
    if running:
        return dg.SensorResult(skip_reason=f"{due.due} due; run {running[0].run_id[:8]} is delivering", cursor=due.key)
    # the key changes with the due set; the 10-minute bucket re-requests a set a failed run left behind
    bucket = f"{now:%Y%m%d%H}{now.minute // 10}"
    context.log.info(f"{due.due} deliveries due: requesting an alert_delivery run")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"deliver-{due.key}-{bucket}",
                                                       tags={"meta_agent/due": str(due.due)})], cursor=due.key)


SENSORS = [agent_health_sensor, sla_alert_sensor, run_failure_alert_sensor, alert_delivery_sensor]
