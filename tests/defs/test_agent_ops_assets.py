"""The agent-ops assets, checks, jobs and schedules, run through Dagster.

A range run must give each day its own numbers and its own check verdicts (a breach day is red,
the days around it green), re-running a range changes nothing, and the reports carry their
chart inline.
"""

from __future__ import annotations

import base64
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
import yaml
from dagster._core.definitions.observe import observe  # not exported at the top level in 1.13

from meta_agent.fleet import FleetSpec, simulate
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema import agents, executions
from meta_agent.store.schema_ops_metrics import daily_agent_metrics, sla_evaluations
from meta_agent_defs.agent_ops import assets, checks, jobs
from meta_agent_defs.definitions import defs
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


def _setup(engine, tmp_path) -> Path:
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "slas.yaml").write_text(SLAS)
    rows = [r for i, d in enumerate(DAYS) for r in generate(d, {"steady": 30}, seed=i, neighbours=False)]
    noon = datetime.combine(DAYS[2], datetime.min.time(), UTC) + timedelta(hours=12)
    rows += [execution("spendy", noon + timedelta(minutes=i), cost_usd=0.3, execution_id=f"spend-{i}") for i in range(5)]
    rows += [execution("warm", noon + timedelta(minutes=i), cost_usd=0.2) for i in range(5)]  # 1.0 of 1.1: warn
    insert(engine, rows)
    with engine.begin() as conn:  # one row written around the SDK, with a status nobody knows
        bad = execution("steady", noon, status="exploded", execution_id="bad-1")
        conn.execute(executions.insert().values(**bad))
    return cfg


def _run_daily(instance, resources) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(assets=assets.ASSETS, asset_checks=checks.CHECKS, jobs=[jobs.agent_ops_daily_job],
                         resources=resources).resolve_job_def("agent_ops_daily")
    return job.execute_in_process(instance=instance, tags=RANGE)


def _by_partition(events, asset: str) -> dict[str, dict]:
    return {e.partition: {k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()}
            for e in events if e.asset_key.path == [asset]}


def test_a_range_run_gives_each_day_its_own_numbers_and_verdicts(ops_env, engine, tmp_path, make_resources):
    cfg = _setup(engine, tmp_path)
    resources = make_resources(ops_env, tmp_path, config_dir=cfg)
    with dg.instance_for_test() as instance:
        result = _run_daily(instance, resources)
        assert result.success
        mats = result.get_asset_materialization_events()
        quality = _by_partition(mats, "validated_executions")
        metrics = _by_partition(mats, "daily_agent_metrics")
        slas = _by_partition(mats, "sla_compliance")
        assert sorted(metrics) == [d.isoformat() for d in DAYS]
        with engine.connect() as conn:  # each day's numbers are that day's, as SQL counts them
            for d in DAYS:
                lo = datetime.combine(d, datetime.min.time(), UTC)
                n = conn.execute(sa.select(sa.func.count()).select_from(executions).where(
                    executions.c.started_at >= lo, executions.c.started_at < lo + timedelta(days=1))).scalar_one()
                assert quality[d.isoformat()]["rows_checked"] == n
        assert [quality[d.isoformat()]["rows_rejected"] for d in DAYS] == [0, 0, 1]
        assert [metrics[d.isoformat()]["executions"] for d in DAYS] == [30, 30, 40]  # the bad row never counted
        assert [slas[d.isoformat()]["breaches"] for d in DAYS] == [0, 0, 1]
        table = metrics[DAYS[2].isoformat()]["by_agent"]
        assert [c.name for c in table.schema.columns][:3] == ["agent", "executions", "success_rate"]
        spendy = next(r.data for r in table.records if r.data["agent"] == "spendy")
        assert spendy["cost"] == "$1.50" and spendy["success_rate"] == "100.0 %"

        evals = {(e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}
        assert {k[1] for k in evals} == {d.isoformat() for d in DAYS}
        mats_by_day = {(m.asset_key.path[0], m.partition): m for m in mats}
        for (_check, day), e in evals.items():  # each verdict is tied to its day's materialization (the UI needs it)
            target = mats_by_day[(e.asset_key.path[0], day)]
            assert e.target_materialization_data.run_id == result.run_id and target.partition == day
        q = [evals[("execution_quality_suite", d.isoformat())] for d in DAYS]
        assert [e.passed for e in q] == [True, True, False]
        assert q[2].severity == dg.AssetCheckSeverity.ERROR and q[2].metadata["rows_rejected"].value == 1
        failing = q[2].metadata["failing"].value.records[0].data
        assert failing["expectation"] == "expect_column_values_to_be_in_set(status)" and "bad-1" in failing["examples"]
        cost = [evals[("sla_daily_cost", d.isoformat())] for d in DAYS]
        assert [e.passed for e in cost] == [True, True, False]  # green before, red on the breach day
        assert cost[2].severity == dg.AssetCheckSeverity.ERROR
        assert (cost[2].metadata["breaches"].value, cost[2].metadata["warnings"].value) == (1, 1)
        flagged = {r.data["agent"]: r.data for r in cost[2].metadata["flagged"].value.records}
        assert set(flagged) == {"spendy", "warm"} and flagged["spendy"]["budget_used"] == "150%"
        assert flagged["spendy"]["actual"] == "$1.50" and "spend-" in flagged["spendy"]["driven_by"]
        assert "spendy daily cost $1.50 vs limit $1.00: 150% of budget (breach)" in cost[2].description
        assert all(evals[("sla_latency_p95", d.isoformat())].passed for d in DAYS)

        with engine.connect() as conn:
            metric_rows = conn.execute(sa.select(daily_agent_metrics).order_by("day", "agent_id")).all()
            verdicts = conn.execute(sa.select(sla_evaluations.c.day, sla_evaluations.c.agent_id,
                                              sla_evaluations.c.metric, sla_evaluations.c.status)
                                    .order_by("day", "agent_id", "metric")).all()
        assert _run_daily(instance, resources).success  # re-running the range changes nothing
        with engine.connect() as conn:
            cols = [c for c in daily_agent_metrics.c if c.name != "computed_at"]
            assert [tuple(r) for r in conn.execute(sa.select(*cols).order_by("day", "agent_id"))] == \
                   [tuple(r[: len(cols)]) for r in metric_rows]
            assert conn.execute(sa.select(sla_evaluations.c.day, sla_evaluations.c.agent_id,
                                          sla_evaluations.c.metric, sla_evaluations.c.status)
                                .order_by("day", "agent_id", "metric")).all() == verdicts
        # the instance keeps one check record per day: the partition view shows the breach day red
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("sla_compliance"), "sla_daily_cost"), limit=10)
        assert {(r.partition, r.status.value) for r in history[:3]} == {
            (DAYS[0].isoformat(), "SUCCEEDED"), (DAYS[1].isoformat(), "SUCCEEDED"), (DAYS[2].isoformat(), "FAILED")}


def test_reports_embed_their_chart_and_keep_the_file(ops_env, engine, tmp_path, make_resources):
    cfg = _setup(engine, tmp_path)
    resources = make_resources(ops_env, tmp_path, config_dir=cfg)
    with dg.instance_for_test() as instance:
        assert _run_daily(instance, resources).success
        reports = dg.materialize(assets.REPORT_ASSETS, instance=instance, resources=resources)
    assert reports.success
    for m in reports.get_asset_materialization_events():
        meta = m.materialization.metadata
        md = meta["chart"].value
        assert md.startswith("![SLA compliance by ") and "](data:image/png;base64," in md
        png = base64.b64decode(md.split("base64,", 1)[1].rstrip(")"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == Path(meta["chart_file"].value).read_bytes()
        agents_seen = {r.data["agent_id"] for r in meta["latest_period_by_agent"].value.records}
        assert "spendy" in agents_seen


def test_execution_log_is_observed_and_the_registry_merges_the_file(ops_env, tmp_path, make_resources):
    spec = FleetSpec(agents=3, days=4, per_day=15, seed=5, end=datetime.now(UTC).date() - timedelta(days=1))
    ingest_items(((str(i), r) for i, r in enumerate(simulate(spec))), url=ops_env, source="t", origin="fleet")
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "agents.yaml").write_text(yaml.safe_dump({"agents": [
        {"agent_id": "support-triage", "owner": "maria", "team": "customer-ops"},
        {"agent_id": "brand-new-agent", "owner": "nobody-yet"}]}))
    resources = make_resources(ops_env, tmp_path, config_dir=cfg)
    with dg.instance_for_test() as instance:
        observed = observe([assets.execution_log], instance=instance, resources=resources)
        result = dg.materialize([assets.agent_registry], instance=instance, resources=resources)
    assert observed.success and result.success
    obs = observed.get_asset_observation_events()[0].asset_observation_data.asset_observation
    with sa.create_engine(ops_env).connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar_one()
        owners = dict(conn.execute(sa.select(agents.c.agent_id, agents.c.owner)).all())
    assert obs.metadata["executions_last_30_days"].value == total and obs.metadata["days_with_data"].value == 4
    assert obs.tags["dagster/data_version"]
    assert owners["support-triage"] == "maria" and owners["brand-new-agent"] == "nobody-yet"
    assert owners["invoice-extractor"] is None  # seen in logs only: registered, not rejected
    table = result.asset_materializations_for_node("agent_registry")[0].metadata["registry"].value
    assert {r.data["agent_id"] for r in table.records} >= {"support-triage", "brand-new-agent"}


def test_the_daily_job_selects_the_objects_and_runs_yesterday_at_two_utc():
    schedule = defs.resolve_schedule_def("agent_ops_daily_0200_utc")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone in (None, "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance,
                                        scheduled_execution_time=datetime(2026, 3, 15, 2, 0, tzinfo=UTC))
        data = schedule.evaluate_tick(ctx)
    assert [r.partition_key for r in data.run_requests] == ["2026-03-14"]
    job = defs.resolve_job_def("agent_ops_daily")
    assert job.asset_layer.selected_asset_keys == {a.key for a in assets.DAILY_ASSETS} | {
        assets.execution_log.key, assets.agent_registry.key}
    assert {k.name for k in job.asset_layer.asset_graph.asset_check_keys} >= {
        "execution_quality_suite", *(s.name for s in checks.SLA_CHECKS.values())}


def test_reports_follow_their_inputs_and_the_daily_assets_have_a_freshness_policy():
    graph = defs.get_repository_def().asset_graph
    for key in ("sla_report_weekly", "sla_report_monthly", "agent_registry"):
        assert graph.get(dg.AssetKey(key)).automation_condition is not None, key
    for a in assets.DAILY_ASSETS:
        node = graph.get(a.key)
        assert node.freshness_policy is not None and node.owners == ["team:platform"] and node.description


def test_retention_job_prunes_through_dagster(ops_env, engine):
    old = datetime.now(UTC) - timedelta(days=50)
    insert(engine, [execution("a", old), execution("a", datetime.now(UTC) - timedelta(hours=1))])
    local = dg.Definitions(jobs=[jobs.prune_raw_executions_job], resources={"ops_db": OpsDatabase(url=ops_env)})
    with dg.instance_for_test() as instance:
        result = local.resolve_job_def("prune_raw_executions").execute_in_process(
            instance=instance, run_config={"ops": {"prune_executions_op": {"config": {"max_age_days": 30}}}})
    assert result.success
    assert result.output_for_node("prune_executions_op")["executions"] == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar_one() == 1
