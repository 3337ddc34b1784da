"""The agent-ops assets, checks, schedule and retention job, run through Dagster."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from meta_agent.store.schema import executions
from meta_agent.store.schema_ops_metrics import daily_agent_metrics, sla_evaluations
from meta_agent_defs.assets import agent_ops
from meta_agent_defs.assets import agent_ops_checks as checks
from meta_agent_defs.jobs import agent_ops as jobs
from meta_agent_defs.resources import OpsDatabase

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from opsdata import execution, generate, insert  # noqa: E402

FIRST = date(2026, 3, 12)
DAYS = [FIRST + timedelta(days=i) for i in range(3)]
RANGE = {"dagster/asset_partition_range_start": DAYS[0].isoformat(),
         "dagster/asset_partition_range_end": DAYS[-1].isoformat()}
SLAS = """\
default:
  min_success_rate: 0.5
  max_latency_p95_ms: 1000000
  max_latency_p99_ms: 1000000
  max_daily_cost_usd: 1000
  max_human_intervention_rate: 1.0
agents:
  spendy:
    max_daily_cost_usd: 1.0
  warm:
    max_daily_cost_usd: 1.1
"""


def _setup(engine, tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "slas.yaml").write_text(SLAS)
    monkeypatch.setenv("META_AGENT_CONFIG_DIR", str(cfg))
    rows = [r for i, d in enumerate(DAYS) for r in generate(d, {"steady": 30}, seed=i, neighbours=False)]
    noon = datetime.combine(DAYS[2], datetime.min.time(), UTC) + timedelta(hours=12)
    rows += [execution("spendy", noon + timedelta(minutes=i), cost_usd=0.3, execution_id=f"spend-{i}") for i in range(5)]
    rows += [execution("warm", noon + timedelta(minutes=i), cost_usd=0.2) for i in range(5)]  # 1.0 of 1.1: warn
    insert(engine, rows)
    with engine.begin() as conn:  # one row written around the SDK, with a status nobody knows
        bad = execution("steady", noon, status="exploded", execution_id="bad-1")
        conn.execute(executions.insert().values(**bad))


def _materialize(url: str, instance) -> dg.ExecuteInProcessResult:
    return dg.materialize(agent_ops.DAILY_ASSETS, instance=instance, resources={"ops_db": OpsDatabase(url=url)},
                          tags=RANGE)


def test_daily_assets_over_a_range_with_quality_and_sla_checks(ops_env, engine, tmp_path, monkeypatch):
    _setup(engine, tmp_path, monkeypatch)
    with dg.instance_for_test() as instance:
        result = _materialize(ops_env, instance)
        assert result.success
        mats = result.get_asset_materialization_events()
        assert sorted(m.partition for m in mats if m.asset_key.path == ["daily_agent_metrics"]) == [
            d.isoformat() for d in DAYS]
        evals = {e.check_name: e for e in result.get_asset_check_evaluations()}

        q = evals[checks.QUALITY_CHECK]
        assert not q.passed and q.severity == dg.AssetCheckSeverity.ERROR
        assert q.metadata["rows_rejected"].value == 1
        assert q.metadata["failing_counts"].value == {"expect_column_values_to_be_in_set(status)": 1}
        assert "bad-1" in q.metadata["examples"].value

        cost = evals[checks.SLA_DAILY_COST_CHECK]  # spendy breaches (1.5 of 1.0), warm warns
        assert not cost.passed and cost.severity == dg.AssetCheckSeverity.ERROR
        assert (cost.metadata["breaches"].value, cost.metadata["warnings"].value) == (1, 1)
        assert cost.metadata["agents_flagged"].value == ["spendy", "warm"]
        attribution = cost.metadata["attribution"].value[f"{DAYS[2]}/spendy"]
        assert {i["execution_id"] for i in attribution["most_expensive_ids"]} == {f"spend-{i}" for i in range(5)}
        assert "spendy" in cost.description and "breach" in cost.description
        assert evals[checks.SLA_LATENCY_P95_CHECK].passed

        with engine.connect() as conn:
            metric_rows = conn.execute(sa.select(daily_agent_metrics).order_by("day", "agent_id")).all()
            evaluations = conn.execute(sa.select(sla_evaluations.c.day, sla_evaluations.c.agent_id,
                                                 sla_evaluations.c.metric, sla_evaluations.c.status)
                                       .order_by("day", "agent_id", "metric")).all()
        steady = [r for r in metric_rows if r.agent_id == "steady"]
        assert [r.executions for r in steady] == [30, 30, 30]  # the bad row never reached the metrics

        again = _materialize(ops_env, instance)  # re-materializing the range changes nothing
        assert again.success
        with engine.connect() as conn:
            cols = [c for c in daily_agent_metrics.c if c.name != "computed_at"]
            assert [tuple(r) for r in conn.execute(sa.select(*cols).order_by("day", "agent_id"))] == \
                   [tuple(r[: len(cols)]) for r in metric_rows]
            assert conn.execute(sa.select(sla_evaluations.c.day, sla_evaluations.c.agent_id,
                                          sla_evaluations.c.metric, sla_evaluations.c.status)
                                .order_by("day", "agent_id", "metric")).all() == evaluations

        reports = dg.materialize(agent_ops.REPORT_ASSETS, instance=instance, resources={"ops_db": OpsDatabase(url=ops_env)})
        assert reports.success
        for m in reports.get_asset_materialization_events():
            chart = Path(m.materialization.metadata["chart"].value)
            assert chart.exists() and chart.stat().st_size > 1000
            assert "spendy" in m.materialization.metadata["latest_period_by_agent"].value


def test_sla_checks_warn_and_error_severity():
    day = date(2026, 3, 14)

    def ev(agent, metric, status, consumed):
        return {"day": day, "agent_id": agent, "metric": metric, "status": status, "consumed": consumed,
                "actual": consumed, "limit_value": 1.0, "attribution": {"slowest_ids": [{"execution_id": "x" * 20}]}}

    results = {r.check_name: r for r in checks.sla_check_results([
        ev("a", "max_latency_p95_ms", "warn", 0.85), ev("b", "max_latency_p95_ms", "ok", 0.2),
        ev("a", "min_success_rate", "breach", 2.0), ev("b", "min_success_rate", "warn", 0.9),
        ev("a", "max_daily_cost_usd", "ok", 0.5)])}
    p95 = results[checks.SLA_LATENCY_P95_CHECK]
    assert (p95.passed, p95.severity) == (False, dg.AssetCheckSeverity.WARN)
    rate = results[checks.SLA_SUCCESS_RATE_CHECK]
    assert (rate.passed, rate.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert rate.description.startswith("a success rate")  # the worst first
    assert results[checks.SLA_DAILY_COST_CHECK].passed
    assert results[checks.SLA_HUMAN_RATE_CHECK].passed  # nothing evaluated: nothing wrong
    assert set(results) == set(checks.SLA_CHECKS.values())


def test_the_daily_schedule_runs_yesterdays_partition_at_two_utc():
    from meta_agent_defs.definitions import defs

    schedule = defs.resolve_schedule_def("agent_ops_daily_0200_utc")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone in (None, "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance,
                                        scheduled_execution_time=datetime(2026, 3, 15, 2, 0, tzinfo=UTC))
        data = schedule.evaluate_tick(ctx)
    assert [r.partition_key for r in data.run_requests] == ["2026-03-14"]
    job = defs.resolve_job_def("agent_ops_daily")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(jobs.DAILY_ASSET_KEYS)


def test_retention_job_prunes_through_dagster(ops_env, engine):
    old = datetime.now(UTC) - timedelta(days=50)
    insert(engine, [execution("a", old), execution("a", datetime.now(UTC) - timedelta(hours=1))])
    defs = dg.Definitions(jobs=[jobs.prune_raw_executions_job], resources={"ops_db": OpsDatabase(url=ops_env)})
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("prune_raw_executions").execute_in_process(
            instance=instance, run_config={"ops": {"prune_executions_op": {"config": {"max_age_days": 30}}}})
    assert result.success
    assert result.output_for_node("prune_executions_op")["executions"] == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar_one() == 1
