"""The evaluation assets, checks, jobs and schedules, run through Dagster on a fleet with the
demo's four incidents: a week of days, each with its own numbers and verdicts; findings with
their categories and evidence; alerts raised once; the weekly reports stored as versions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from meta_agent.evaluation import pipeline
from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
from meta_agent.store import migrate
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_evaluation import (
    evaluation_reports,
    failure_clusters,
    root_cause_findings,
)
from meta_agent.store.schema_ops_alerts import alerts
from meta_agent_defs.evaluation import assets, checks, jobs

END = date(2026, 11, 29)  # a Sunday: the ISO week 2026-11-23..29 is whole
DAYS = [END - timedelta(days=i) for i in range(pipeline.WINDOW_DAYS - 1, -1, -1)]
RANGE = {"dagster/asset_partition_range_start": DAYS[0].isoformat(),
         "dagster/asset_partition_range_end": DAYS[-1].isoformat()}
AGENTS = 6


def _defs(resources) -> dg.Definitions:
    return dg.Definitions(assets=assets.ASSETS, asset_checks=checks.CHECKS, jobs=jobs.JOBS, resources=resources)


def _by_partition(result, asset: str) -> dict[str, dict]:
    return {e.partition: {k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events() if e.asset_key.path == [asset]}


@pytest.fixture(scope="module")
def incidents():
    return default_incidents([p.agent_id for p in fleet(AGENTS)], END, 28)


@pytest.fixture
def loaded(sqlite_url, incidents):
    migrate.upgrade(sqlite_url)
    spec = FleetSpec(agents=AGENTS, days=28, per_day=160, seed=5, end=END, incidents=incidents)
    report = ingest_items(((r["execution_id"], r) for r in simulate(spec)), url=sqlite_url, source="test",
                          origin="fleet")
    assert report.quarantined == 0
    return sqlite_url


def test_a_week_of_evaluation_through_dagster(loaded, incidents, tmp_path, make_resources):
    defs = _defs(make_resources(loaded, tmp_path))
    engine = sa.create_engine(loaded)
    with dg.instance_for_test() as instance:
        daily = defs.resolve_job_def("evaluation_daily").execute_in_process(instance=instance, tags=RANGE)
        assert daily.success
        for asset in ("execution_scores", "failure_embeddings", "failure_clusters", "root_cause_findings"):
            assert sorted(_by_partition(daily, asset)) == [d.isoformat() for d in DAYS], asset
        scores = _by_partition(daily, "execution_scores")[END.isoformat()]
        assert scores["scored_executions"] == 0 and "unscored" in scores["judge"]  # offline: nothing invented
        embedded = _by_partition(daily, "failure_embeddings")
        assert all(m["failures"] == m["embedded_now"] > 0 for m in embedded.values())
        evals = {(e.check_name, e.partition): e for e in daily.get_asset_check_evaluations()}
        assert all(evals[("every_failure_embedded", d.isoformat())].passed for d in DAYS)

        found = _by_partition(daily, "root_cause_findings")[END.isoformat()]
        rows = [r.data for r in found["findings"].records]
        outage = next(i for i in incidents if i.kind == "outage")
        external = [r for r in found["findings"].records if r.data["category"] == "external"]
        assert any(outage.agent_id in r.data["agents"] for r in external), rows
        assert all(r.data["first_bad_execution"] for r in found["findings"].records)
        clusters = _by_partition(daily, "failure_clusters")[END.isoformat()]
        assert clusters["cluster_count"] == len(clusters["clusters"].records) > 0 and clusters["failures_in_window"] > 0

        with engine.connect() as conn:
            n_findings = conn.execute(sa.select(sa.func.count()).select_from(root_cause_findings)).scalar_one()
            n_clusters = conn.execute(sa.select(sa.func.count()).select_from(failure_clusters)).scalar_one()
            raised = conn.execute(sa.select(alerts.c.alert_type, sa.func.count()).where(
                alerts.c.source == "evaluation").group_by(alerts.c.alert_type)).all()
        assert dict(raised).get("root_cause", 0) >= 1  # the external finding paged through the alerting
        assert defs.resolve_job_def("evaluation_daily").execute_in_process(instance=instance, tags=RANGE).success
        with engine.connect() as conn:  # a re-run rewrites its days: no duplicate rows, no second page
            assert conn.execute(sa.select(sa.func.count()).select_from(root_cause_findings)).scalar_one() == n_findings
            assert conn.execute(sa.select(sa.func.count()).select_from(failure_clusters)).scalar_one() == n_clusters
            again = conn.execute(sa.select(alerts.c.alert_type, sa.func.count()).where(
                alerts.c.source == "evaluation").group_by(alerts.c.alert_type)).all()
        assert dict(again) == dict(raised)

        week = "2026-11-23"
        for version in (1, 2):  # a re-run stores a new version of each report
            weekly = defs.resolve_job_def("evaluation_weekly").execute_in_process(instance=instance, partition_key=week)
            assert weekly.success
            meta = _by_partition(weekly, "agent_evaluation_report")[week]
            reports = [r.data for r in meta["reports"].records]
            assert len(reports) == AGENTS and {r["version"] for r in reports} == {version}
        assert meta["worst_agent"] in {i.agent_id for i in incidents}
        assert "## " in meta["worst_agent_report"] or "**" in meta["worst_agent_report"]
        check = next(e for e in weekly.get_asset_check_evaluations() if e.check_name == "report_regressions_have_findings")
        assert check.partition == week
        with engine.connect() as conn:
            stored = conn.execute(sa.select(evaluation_reports.c.agent_id, sa.func.max(evaluation_reports.c.version))
                                  .group_by(evaluation_reports.c.agent_id)).all()
        assert len(stored) == AGENTS and all(v == 2 for _, v in stored)
    engine.dispose()


def test_the_weekly_schedule_asks_for_the_week_that_just_closed():
    monday = datetime(2026, 11, 30, 4, tzinfo=UTC)
    assert jobs.weekly_key(monday) == "2026-11-23"
    assert jobs.weekly_key(monday + timedelta(days=3)) == "2026-11-23"  # a late tick still asks for last week


def test_the_week_in_progress_is_reported_to_date():
    monday = date(2026, 11, 30)
    assert pipeline.week_period(monday, today=date(2026, 12, 1)) == (monday, date(2026, 12, 1))
    assert pipeline.week_period(monday, today=date(2026, 12, 20)) == (monday, date(2026, 12, 6))
    assert pipeline.week_period(monday, today=date(2026, 11, 1)) == (monday, monday)  # never ends before it starts
