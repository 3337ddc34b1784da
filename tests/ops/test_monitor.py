"""A monitoring tick end to end (health + circuits + alerts + delivery), SLA and data-quality
results turned into alerts once, and a replay of the demo fleet that finds every injected
incident."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from monitordata import T0, insert, steady

from meta_agent.ops import alerts, monitor
from meta_agent.ops.monitoring_config import MonitoringConfig
from meta_agent.ops.notifiers import NotifierSettings, build_notifier
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_alerts import alert_deliveries
from meta_agent.store.schema_ops_metrics import (
    data_quality_results,
    execution_rejections,
    sla_evaluations,
)

CFG = MonitoringConfig()


def _history(engine):
    """A week of healthy traffic for two agents, then an outage for 'api' from T0 to T0+1 h."""
    rows = steady("api", T0 - timedelta(days=8), T0, timedelta(minutes=2), latency_ms=800.0)
    rows += steady("batch", T0 - timedelta(days=8), T0 + timedelta(hours=3), timedelta(minutes=3))
    rows += steady("api", T0, T0 + timedelta(hours=1), timedelta(seconds=30), status="failure",
                   error_type="ServiceUnavailableError", latency_ms=200.0)
    rows += steady("api", T0 + timedelta(hours=1), T0 + timedelta(hours=4), timedelta(minutes=1), latency_ms=800.0)
    insert(engine, rows)


def _types(engine, status="all"):
    with engine.connect() as conn:
        return sorted((a["agent_id"], a["alert_type"], a["status"]) for a in alerts.list_alerts(conn, status=status))


def test_tick_raises_delivers_and_resolves(migrated_url, tmp_path):
    engine = engine_for(migrated_url)
    _history(engine)
    notifier = build_notifier(NotifierSettings(channels="log", log_path=str(tmp_path / "n.jsonl")))
    calm = monitor.tick(engine, T0 - timedelta(minutes=1), monitoring=CFG, notifier=notifier)
    assert calm.summary()["health"] == {"healthy": 2} and calm.alerts_created == []

    hit = monitor.tick(engine, T0 + timedelta(minutes=20), monitoring=CFG, notifier=notifier)
    by_agent = {h.agent_id: h for h in hit.health}
    assert by_agent["api"].status == "critical" and by_agent["batch"].status == "healthy"
    # the window is the last 50 (all within 3 h): at the 25th failure (T0+12 min) 25 of 50 failed;
    # 5 min later it is half-open, and the failure logged at that very instant opens it again
    assert [(t.to_state, t.at) for t in hit.circuit_transitions] == [
        ("open", T0 + timedelta(minutes=12)), ("half_open", T0 + timedelta(minutes=17)),
        ("open", T0 + timedelta(minutes=17))]
    assert _types(engine) == [("api", "circuit_open", "open"), ("api", "health_critical", "open")]
    assert hit.delivery.sent == 2 and len((tmp_path / "n.jsonl").read_text().splitlines()) == 2

    again = monitor.tick(engine, T0 + timedelta(minutes=25), monitoring=CFG, notifier=notifier)
    assert again.alerts_created == [] and again.alerts_deduplicated == 2 and again.delivery.sent == 0

    # recovered at T0+1h: the circuit closes after 3 successes, the health alert after an hour healthy
    later = [monitor.tick(engine, T0 + timedelta(minutes=m), monitoring=CFG, notifier=notifier)
             for m in range(70, 200, 10)]
    assert _types(engine, "open") == []
    with engine.connect() as conn:
        resolved_at = {a["alert_type"]: a["resolved_at"] for a in alerts.list_alerts(conn, status="all")}
    assert resolved_at["circuit_open"] == T0 + timedelta(minutes=70)
    assert resolved_at["health_critical"] >= T0 + timedelta(hours=2)
    assert sum(len(r.health_transitions) for r in later) >= 1


def test_replaying_the_same_times_twice_adds_nothing(migrated_url):
    engine = engine_for(migrated_url)
    _history(engine)
    kw = {"monitoring": CFG}
    first = monitor.replay(engine, T0 - timedelta(hours=1), T0 + timedelta(hours=4), timedelta(minutes=15), **kw)
    with engine.connect() as conn:
        n_alerts = len(alerts.list_alerts(conn, status="all"))
    second = monitor.replay(engine, T0 - timedelta(hours=1), T0 + timedelta(hours=4), timedelta(minutes=15), **kw)
    with engine.connect() as conn:
        assert len(alerts.list_alerts(conn, status="all")) == n_alerts
    assert sum(len(r.health_transitions) + len(r.circuit_transitions) for r in first) > 0
    assert sum(len(r.health_transitions) + len(r.circuit_transitions) for r in second) == 0


def _sla_row(day, agent, metric, status, consumed, evaluated_at):
    return {"day": day, "agent_id": agent, "metric": metric, "actual": 0.7, "limit_value": 0.9,
            "consumed": consumed, "status": status, "limit_source": "yaml", "attribution": {"top": ["e1"]},
            "evaluated_at": evaluated_at}


def test_sla_and_data_quality_results_become_alerts_once(migrated_url):
    engine = engine_for(migrated_url)
    d = date(2026, 3, 9)
    t1 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sla_evaluations.insert(), [
            _sla_row(d, "a", "min_success_rate", "breach", 3.0, t1),
            _sla_row(d, "a", "max_latency_p95_ms", "breach", 1.4, t1),
            _sla_row(d, "a", "max_daily_cost_usd", "warn", 0.85, t1),
            _sla_row(d, "b", "min_success_rate", "ok", 0.2, t1)])
        conn.execute(data_quality_results.insert().values(day=d, rows_checked=200, rows_rejected=12, success=False,
                                                          results=[], checked_at=t1))
        conn.execute(execution_rejections.insert(), [
            {"day": d, "execution_id": f"e{i}", "expectation": "expect_column_values_to_be_between",
             "agent_id": "a" if i < 10 else " ", "detail": "latency_ms -1", "checked_at": t1} for i in range(12)])
    assert monitor.sync_ops_alerts(engine, {}).created == []  # first run, wall clock: older than 2 days
    first = monitor.sync_ops_alerts(engine, {}, now=t1 + timedelta(hours=3))
    assert first.sla_rows == 3 and first.quality_days == 1 and len(first.created) == 4
    assert first.cursor == {"sla": t1, "quality": t1}
    with engine.connect() as conn:
        got = {(a["agent_id"], a["alert_type"]): a for a in alerts.list_alerts(conn, status="all")}
    assert set(got) == {("a", "sla_breach"), ("a", "sla_warning"), ("a", "data_quality"),
                        ("(no agent id)", "data_quality")}
    breach = got[("a", "sla_breach")]
    assert breach["severity"] == "critical" and breach["window_start"] == datetime(2026, 3, 9, tzinfo=UTC)
    assert "min_success_rate: actual 0.7 vs limit 0.9 (300% of the budget consumed)" in breach["message"]
    assert breach["message"].index("min_success_rate") < breach["message"].index("max_latency_p95_ms")
    assert got[("a", "data_quality")]["severity"] == "critical"  # 10 of 200 rows = 5 %
    assert got[("a", "data_quality")]["title"].startswith("data quality: 10 of 200")
    # the day is re-evaluated: same verdicts, a newer evaluated_at → no new alert, no bump
    with engine.begin() as conn:
        conn.execute(sla_evaluations.update().values(evaluated_at=t1 + timedelta(hours=1)))
    second = monitor.sync_ops_alerts(engine, first.cursor)
    assert second.created == [] and second.deduplicated == 4 and second.cursor["sla"] == t1 + timedelta(hours=1)
    with engine.connect() as conn:
        assert all(a["occurrences"] == 1 for a in alerts.list_alerts(conn, status="all"))
    assert monitor.sync_ops_alerts(engine, second.cursor).created == []


def test_run_failure_alert(migrated_url):
    from meta_agent.ops.alert_rules import run_failure_spec

    engine = engine_for(migrated_url)
    spec = run_failure_spec("agent_ops_daily", "abcdef1234", "step failed", T0, partition="2026-03-09")
    a = monitor.raise_run_failure(engine, spec, build_notifier(NotifierSettings(channels="log", log_path=None)))
    b = monitor.raise_run_failure(engine, spec)
    assert a.created and not b.created and a.alert_id == b.alert_id
    with engine.connect() as conn:
        got = alerts.get_alert(conn, a.alert_id)
        n_deliveries = conn.execute(sa.select(sa.func.count()).select_from(alert_deliveries)).scalar()
    assert got["agent_id"] == "job:agent_ops_daily" and got["occurrences"] == 2 and n_deliveries == 1
    assert "(partition 2026-03-09)" in got["title"] and "abcdef1234" in got["message"]


@pytest.mark.slow
def test_replay_of_the_demo_fleet_finds_every_incident(sqlite_url):
    """The demo's story (8 agents, 300/day, incidents in the last week) on its last 7 days."""
    from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
    from meta_agent.store import migrate
    from meta_agent.store.ingest import ingest_items
    from meta_agent_demo.steps.alerts import STEP, match_incidents

    migrate.upgrade(sqlite_url)
    end = date(2026, 3, 9)
    ids = [p.agent_id for p in fleet(8)]
    spec = FleetSpec(agents=8, days=14, per_day=300, end=end, incidents=default_incidents(ids, end, 14))
    ingest_items(((r["execution_id"], r) for r in simulate(spec)), url=sqlite_url, source="test", origin="fleet")
    engine = engine_for(sqlite_url)
    start = datetime.combine(end - timedelta(days=6), datetime.min.time(), UTC)
    stop = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC) - timedelta(microseconds=1)
    monitor.replay(engine, start, stop, STEP, monitoring=CFG)
    with engine.connect() as conn:
        raised = alerts.list_alerts(conn, status="all", limit=10_000)
    found = match_incidents(spec.incidents, raised, stop)
    assert [f["kind"] for f in found if f["found"]] == [i.kind for i in spec.incidents], found
    incident_agents = {i.agent_id for i in spec.incidents}
    others = [a for a in raised if a["agent_id"] not in incident_agents]
    assert others == [], [a["title"] for a in others]  # no false alarm on the healthy agents


def test_a_tick_on_an_empty_fleet_does_nothing(migrated_url):
    report = monitor.tick(engine_for(migrated_url), T0, monitoring=CFG)
    s = report.summary()
    assert (s["agents"], s["alerts_created"], s["health_transitions"], s["circuit_transitions"]) == (0, 0, 0, 0)
