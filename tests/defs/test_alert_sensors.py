"""The alert sensors and the digest asset, run through Dagster against a real instance."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from meta_agent.ops import alerts
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_alerts import agent_health, alert_digests, circuit_breakers
from meta_agent.store.schema_ops_metrics import sla_evaluations
from meta_agent_defs.assets.alerts import alert_digest
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.resources.notifier import NotifierResource
from meta_agent_defs.sensors.health import HEALTH_SENSOR, agent_health_sensor
from meta_agent_defs.sensors.ops_alerts import SLA_ALERT_SENSOR, sla_alert_sensor
from meta_agent_defs.sensors.run_failure import RUN_FAILURE_SENSOR, run_failure_alert_sensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from monitordata import insert, steady  # noqa: E402


def _resources(url: str, tmp_path: Path) -> dict:
    return {"ops_db": OpsDatabase(url=url),
            "notifier": NotifierResource(channels="log", log_path=str(tmp_path / "notifications.jsonl"))}


def _open(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return sorted((a["agent_id"], a["alert_type"]) for a in alerts.list_alerts(conn))


def test_health_sensor_raises_alerts_for_an_outage_now(migrated_url, tmp_path):
    engine = engine_for(migrated_url)
    now = datetime.now(UTC)
    insert(engine, steady("api", now - timedelta(days=2), now - timedelta(minutes=20), timedelta(minutes=2))
           + steady("api", now - timedelta(minutes=20), now, timedelta(seconds=20), status="failure")
           + steady("batch", now - timedelta(days=2), now, timedelta(minutes=3)))
    with dg.DagsterInstance.ephemeral() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=_resources(migrated_url, tmp_path))
        result = agent_health_sensor(ctx)
        again = agent_health_sensor(dg.build_sensor_context(instance=instance,
                                                            resources=_resources(migrated_url, tmp_path)))
    assert isinstance(result, dg.SkipReason)
    assert "2 agents {'critical': 1, 'healthy': 1}" in result.skip_message
    assert "alerts: 2 new" in result.skip_message and "'sent': 2" in result.skip_message
    assert "alerts: 0 new, 2 deduplicated" in again.skip_message
    assert _open(engine) == [("api", "circuit_open"), ("api", "health_critical")]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(agent_health)).scalar() == 2
        assert conn.execute(sa.select(circuit_breakers.c.state).where(circuit_breakers.c.agent_id == "api")).scalar() \
            in ("open", "half_open")
    lines = (tmp_path / "notifications.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["alert"]["alert_type"] for x in lines) == ["circuit_open", "health_critical"]


def test_sla_sensor_keeps_a_cursor_and_never_duplicates(migrated_url, tmp_path):
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
    with dg.DagsterInstance.ephemeral() as instance:
        first = sla_alert_sensor(dg.build_sensor_context(instance=instance,
                                                         resources=_resources(migrated_url, tmp_path)))
        second = sla_alert_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor,
                                                          resources=_resources(migrated_url, tmp_path)))
    assert json.loads(first.cursor)["sla"] == t1.isoformat()
    assert "1 alerts raised" in first.skip_reason.skip_message and "delivered 1" in first.skip_reason.skip_message
    assert "0 alerts raised, 1 already there" in second.skip_reason.skip_message
    assert _open(engine) == [("sql-analyst", "sla_breach")]


@dg.op
def explode() -> None:
    raise RuntimeError("the warehouse is down")


@dg.job(name="nightly_export")
def nightly_export() -> None:
    explode()


def test_run_failure_sensor_raises_a_run_failure_alert(migrated_url, tmp_path):
    engine = engine_for(migrated_url)
    with dg.DagsterInstance.ephemeral() as instance:
        result = nightly_export.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        ctx = dg.build_run_status_sensor_context(sensor_name=RUN_FAILURE_SENSOR, dagster_event=event,
                                                 dagster_instance=instance, dagster_run=run,
                                                 resources=_resources(migrated_url, tmp_path))
        run_failure_alert_sensor(ctx.for_run_failure())
        run_failure_alert_sensor(ctx.for_run_failure())  # the same failure again: deduplicated
    with engine.connect() as conn:
        (alert,) = alerts.list_alerts(conn)
    assert alert["agent_id"] == "job:nightly_export" and alert["alert_type"] == "run_failure"
    assert result.run_id in alert["message"] and alert["occurrences"] == 2
    assert alert["deliveries"][0]["status"] == "sent"


def test_digest_asset_writes_its_day_and_sends_it(ops_env, tmp_path):
    engine = engine_for(ops_env)
    day = date(2026, 3, 10)
    from meta_agent.ops.alerts import AlertSpec

    with engine.begin() as conn:
        alerts.raise_alert(conn, AlertSpec("api", "health_critical", "critical", "api is critical", "all failed",
                                           datetime(2026, 3, 10, 9, 30, tzinfo=UTC), "test"))
    for _ in range(2):  # idempotent
        result = dg.materialize([alert_digest], partition_key=day.isoformat(),
                                resources=_resources(ops_env, tmp_path))
        assert result.success
    meta = result.asset_materializations_for_node("alert_digest")[0].metadata
    assert meta["days"].value == 1 and meta["alerts"].value == 1
    assert "api is critical" in meta["digest_of_last_day"].value
    path = Path(meta["path"].value)
    assert path.read_text().startswith("# meta-agent alerts — 2026-03-10")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alert_digests)).all()
    assert len(rows) == 1 and rows[0].delivered_to == ["log"] and rows[0].alerts == 1
    sent = [json.loads(x) for x in (tmp_path / "notifications.jsonl").read_text().splitlines()]
    assert [s["kind"] for s in sent] == ["digest", "digest"]


def test_definitions_wire_the_sensors_schedule_and_notifier():
    from meta_agent_defs.definitions import defs

    repo = defs.get_repository_def()
    for name in (HEALTH_SENSOR, SLA_ALERT_SENSOR, RUN_FAILURE_SENSOR):
        sensor = repo.get_sensor_def(name)
        assert sensor.minimum_interval_seconds <= 30
    assert repo.get_schedule_def("alert_digest_0300_utc").cron_schedule == "0 3 * * *"
    assert "notifier" in defs.resources
    spec = next(s for s in repo.asset_graph.asset_nodes if s.key == dg.AssetKey("alert_digest"))
    assert spec.group_name == "agent_ops"
