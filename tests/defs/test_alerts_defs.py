"""The alert sensors, the delivery job and the digest / fleet-health assets, through Dagster.

Ticks raise alerts and request runs; sending happens only in the ``alert_delivery`` run, whose
retries and logs are Dagster's. A dead webhook costs that run one timeout, not one per alert.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from meta_agent.ops import alerts
from meta_agent.ops.alerts import AlertSpec
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_alerts import alert_deliveries, alert_digests
from meta_agent.store.schema_ops_metrics import sla_evaluations
from meta_agent_defs.alerts import assets, jobs, sensors
from meta_agent_defs.definitions import defs
from meta_agent_defs.resources import NotifierResource, WebhookChannel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from monitordata import insert, steady  # noqa: E402


def tick(sensor, instance, resources, cursor=None):
    """One evaluation of ``sensor`` (resources with setup need the context as a context manager)."""
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as ctx:
        return sensor(ctx)


def _open(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return sorted((a["agent_id"], a["alert_type"]) for a in alerts.list_alerts(conn))


def _sent(tmp_path: Path) -> list[dict]:
    log = tmp_path / "notifications.jsonl"
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def _outage_now(engine) -> None:
    now = datetime.now(UTC)
    insert(engine, steady("api", now - timedelta(days=2), now - timedelta(minutes=20), timedelta(minutes=2))
           + steady("api", now - timedelta(minutes=20), now, timedelta(seconds=20), status="failure")
           + steady("batch", now - timedelta(days=2), now, timedelta(minutes=3)))


def test_health_sensor_raises_alerts_and_leaves_sending_to_the_delivery_run(migrated_url, tmp_path,
                                                                             make_resources):
    engine = engine_for(migrated_url)
    _outage_now(engine)
    res = make_resources(migrated_url, tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        first = tick(sensors.agent_health_sensor, instance, res)
        again = tick(sensors.agent_health_sensor, instance, res)
        delivery = tick(sensors.alert_delivery_sensor, instance, res)
        repeat = tick(sensors.alert_delivery_sensor, instance, res)
    assert isinstance(first, dg.SensorResult) and not first.run_requests
    assert "2 agents {'critical': 1, 'healthy': 1}" in first.skip_reason.skip_message
    assert "alerts 2 new" in first.skip_reason.skip_message
    assert "alerts 0 new, 2 deduplicated" in again.skip_reason.skip_message
    assert datetime.fromisoformat(first.cursor) <= datetime.now(UTC)
    assert _open(engine) == [("api", "circuit_open"), ("api", "health_critical")]
    assert _sent(tmp_path) == []  # nothing sent inside a tick
    (req,) = delivery.run_requests
    assert req.run_key.startswith("deliver-") and req.tags["meta_agent/due"] == "2"
    assert repeat.run_requests[0].run_key == req.run_key  # same due set: Dagster drops the duplicate


def test_delivery_sensor_skips_when_nothing_is_due_or_a_run_is_delivering(migrated_url, tmp_path, make_resources):
    res = make_resources(migrated_url, tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        idle = tick(sensors.alert_delivery_sensor, instance, res)
        with engine_for(migrated_url).begin() as conn:
            alerts.raise_alert(conn, AlertSpec("api", "health_critical", "critical", "api is down", "all failed",
                                               datetime.now(UTC), "test"), ["log"])
        instance.add_run(dg.DagsterRun(job_name="alert_delivery", run_id="a" * 36,
                                       status=dg.DagsterRunStatus.STARTED))
        busy = tick(sensors.alert_delivery_sensor, instance, res)
    assert idle.skip_reason.skip_message == "nothing due (0 pending)"
    assert not busy.run_requests and "1 due; run aaaaaaaa is delivering" in busy.skip_reason.skip_message


def _dead_port() -> tuple[socket.socket, int]:
    """A listener that accepts and never answers: a webhook that times out."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    threading.Thread(target=lambda: [s.accept() for _ in range(64)], daemon=True).start()
    return s, s.getsockname()[1]


def test_delivery_run_retries_and_a_dead_webhook_costs_one_timeout(migrated_url, tmp_path, make_resources):
    engine = engine_for(migrated_url)
    listener, port = _dead_port()
    notifier = NotifierResource(channels="log,webhook", log_path=str(tmp_path / "notifications.jsonl"),
                                timeout_seconds=1.0, webhook=WebhookChannel(url=f"http://127.0.0.1:{port}/hook"))
    with engine.begin() as conn:
        for i in range(5):
            alerts.raise_alert(conn, AlertSpec(f"agent-{i}", "health_critical", "critical", f"agent-{i} is down",
                                               "all failed", datetime.now(UTC), "test"), ["log", "webhook"])
    fast_retry = jobs.deliver_due_alerts.with_retry_policy(dg.RetryPolicy(max_retries=1, delay=0))

    @dg.job(name="alert_delivery")
    def delivery() -> None:
        fast_retry()

    local = dg.Definitions(jobs=[delivery], resources={**make_resources(migrated_url, tmp_path), "notifier": notifier})
    with dg.instance_for_test() as instance:
        result = local.resolve_job_def("alert_delivery").execute_in_process(instance=instance, raise_on_error=False)
        logs = [e.message for e in instance.all_logs(result.run_id)]
    listener.close()
    kinds = [e.event_type_value for e in result.all_events]
    assert kinds.count("STEP_UP_FOR_RETRY") == 1 and result.success  # failed once, retried, then nothing was due
    assert any("delivered 5, failed 1, deferred 4 (attempt 1 of" in m for m in logs)
    assert any("via webhook" in m and "failed" in m for m in logs)
    assert len(_sent(tmp_path)) == 5  # the log channel got every alert in the first attempt
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alert_deliveries.c.channel, alert_deliveries.c.status,
                                      alert_deliveries.c.attempts)).all()
    webhook = [r for r in rows if r.channel == "webhook"]
    assert all(r.status == "pending" for r in webhook) and sorted(r.attempts for r in webhook) == [0, 0, 0, 0, 1]


def test_sla_sensor_keeps_a_cursor_and_never_duplicates(migrated_url, tmp_path, make_resources):
    engine = engine_for(migrated_url)
    t1 = datetime.now(UTC) - timedelta(hours=1)  # the 02:00 run an hour ago
    with engine.begin() as conn:
        conn.execute(sla_evaluations.insert(), [
            {"day": date(2026, 3, 9), "agent_id": "sql-analyst", "metric": "min_success_rate", "actual": 0.69,
             "limit_value": 0.87, "consumed": 2.35, "status": "breach", "limit_source": "yaml",
             "attribution": {"driver": "failures"}, "evaluated_at": t1},
            {"day": date(2026, 3, 9), "agent_id": "email-drafter", "metric": "min_success_rate", "actual": 0.99,
             "limit_value": 0.9, "consumed": 0.1, "status": "ok", "limit_source": "yaml", "attribution": None,
             "evaluated_at": t1}])
    res = make_resources(migrated_url, tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        first = tick(sensors.sla_alert_sensor, instance, res)
        second = tick(sensors.sla_alert_sensor, instance, res, cursor=first.cursor)
    assert json.loads(first.cursor)["sla"] == t1.isoformat()
    assert "1 alerts raised" in first.skip_reason.skip_message
    assert "0 alerts raised, 1 already there" in second.skip_reason.skip_message
    assert _open(engine) == [("sql-analyst", "sla_breach")] and _sent(tmp_path) == []


@dg.op
def explode() -> None:
    raise RuntimeError("the warehouse is down")


@dg.job(name="nightly_export")
def nightly_export() -> None:
    explode()


def test_run_failure_sensor_raises_a_run_failure_alert(migrated_url, tmp_path, make_resources):
    engine = engine_for(migrated_url)
    with dg.DagsterInstance.ephemeral() as instance:
        result = nightly_export.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        for _ in range(2):  # the same failure twice: deduplicated
            with dg.build_run_status_sensor_context(
                    sensor_name="run_failure_alert_sensor", dagster_event=event, dagster_instance=instance,
                    dagster_run=run, resources=make_resources(migrated_url, tmp_path)) as ctx:
                sensors.run_failure_alert_sensor(ctx.for_run_failure())
    with engine.connect() as conn:
        (alert,) = alerts.list_alerts(conn)
    assert alert["agent_id"] == "job:nightly_export" and alert["alert_type"] == "run_failure"
    assert result.run_id in alert["message"] and alert["occurrences"] == 2
    assert alert["deliveries"][0]["status"] == "pending"  # the delivery run sends it


def test_digest_asset_writes_each_day_and_sends_it(ops_env, tmp_path, make_resources):
    engine = engine_for(ops_env)
    with engine.begin() as conn:
        alerts.raise_alert(conn, AlertSpec("api", "health_critical", "critical", "api is critical", "all failed",
                                           datetime(2026, 3, 10, 9, 30, tzinfo=UTC), "test"))
    res = make_resources(ops_env, tmp_path)
    for _ in range(2):  # idempotent
        result = dg.materialize([assets.alert_digest], resources=res, tags={
            "dagster/asset_partition_range_start": "2026-03-09", "dagster/asset_partition_range_end": "2026-03-10"})
        assert result.success
    meta = {m.partition: m.materialization.metadata for m in result.get_asset_materialization_events()}
    assert (meta["2026-03-09"]["alerts"].value, meta["2026-03-10"]["alerts"].value) == (0, 1)
    assert "api is critical" in meta["2026-03-10"]["digest"].value
    assert meta["2026-03-10"]["by_severity"].value == "critical 1"
    assert Path(meta["2026-03-10"]["file"].value).read_text().startswith("# meta-agent alerts — 2026-03-10")
    with engine.connect() as conn:
        rows = {r.day: r for r in conn.execute(sa.select(alert_digests))}
    assert len(rows) == 2 and rows[date(2026, 3, 10)].delivered_to == ["log"]
    assert [s["kind"] for s in _sent(tmp_path)] == ["digest"] * 4


def test_fleet_health_links_each_breach_to_the_alerts_it_raised(ops_env, tmp_path, make_resources):
    engine = engine_for(ops_env)
    day = date(2026, 3, 10)
    with engine.begin() as conn:
        conn.execute(sla_evaluations.insert(), [
            {"day": day, "agent_id": "sql-analyst", "metric": "min_success_rate", "actual": 0.69, "limit_value": 0.87,
             "consumed": 2.35, "status": "breach", "limit_source": "yaml", "attribution": None,
             "evaluated_at": datetime.now(UTC)},
            {"day": day, "agent_id": "quiet", "metric": "max_daily_cost_usd", "actual": 5.0, "limit_value": 3.0,
             "consumed": 1.67, "status": "breach", "limit_source": "yaml", "attribution": None,
             "evaluated_at": datetime.now(UTC)}])
        alerts.raise_alert(conn, AlertSpec("sql-analyst", "health_critical", "critical", "down", "x",
                                           datetime(2026, 3, 10, 9, 30, tzinfo=UTC), "test",
                                           details={"findings": [{"kind": "failure_rate"}]}))
    result = dg.materialize([assets.fleet_health], resources=make_resources(ops_env, tmp_path))
    meta = result.asset_materializations_for_node("fleet_health")[0].metadata
    assert meta["window"].value == "2026-03-04 .. 2026-03-10"
    assert meta["open_critical_alerts"].value == 1 and meta["breaches_without_alert"].value == 1
    lines = {r.data["agent"]: r.data for r in meta["incidents"].value.records}
    assert lines["sql-analyst"]["breached"] == "success 235%" and lines["sql-analyst"]["seen"] == "failure_rate"
    assert lines["sql-analyst"]["alerts"].endswith("health_critical (critical, open)")
    assert lines["quiet"]["alerts"] == ""
    agents = [r.data["agent"] for r in meta["agents_now"].value.records]
    assert set(agents) == {"sql-analyst", "quiet"}


def test_definitions_wire_sensors_jobs_and_automation():
    repo = defs.get_repository_def()
    for name in ("agent_health_sensor", "sla_alert_sensor", "run_failure_alert_sensor", "alert_delivery_sensor"):
        sensor = repo.get_sensor_def(name)
        assert sensor.minimum_interval_seconds <= 30 and sensor.description, name
    assert repo.get_sensor_def("alert_delivery_sensor").job_name == "alert_delivery"
    assert not any(s.name.startswith("alert_digest") for s in repo.schedule_defs)  # automation, not a cron offset
    graph = repo.asset_graph
    assert graph.get(dg.AssetKey("alert_digest")).automation_condition.get_label() == "eager"
    assert graph.get(dg.AssetKey("fleet_health")).automation_condition is not None
    assert repo.get_sensor_def("automation_conditions").default_status == dg.DefaultSensorStatus.RUNNING
    assert jobs.deliver_due_alerts.retry_policy.max_retries == 3
    assert {"notifier", "ops_db", "artifacts", "repo_config", "llm", "sandbox", "script_factory"} <= set(defs.resources)
