"""The improvement assets, checks, jobs and sensor, run through Dagster on a fleet with the
demo's four incidents: the day's findings become proposals (a prompt rollback for the latency
regression, a resilience change for the outage — never a prompt edit), the rules auto-approve
what they allow and leave the rest to a person, the Launchpad job decides through
``workflow.decide`` (bad input fails the run and changes nothing), the sensor requests the run
that applies approved proposals, and applying makes a ``candidate`` prompt version without
touching production."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest
import sqlalchemy as sa

from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
from meta_agent.fleet import prompts as fleet_prompts
from meta_agent.improvement import prompts, workflow
from meta_agent.store import migrate
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_improvement import improvement_proposals, proposal_events
from meta_agent_defs import definitions as location
from meta_agent_defs.evaluation import assets as eval_assets
from meta_agent_defs.evaluation import checks as eval_checks
from meta_agent_defs.evaluation import jobs as eval_jobs
from meta_agent_defs.improvement import assets, checks, jobs, sensors

END = date(2026, 11, 29)
AGENTS = 6


def _defs(resources) -> dg.Definitions:
    return dg.Definitions(assets=[*eval_assets.ASSETS, *assets.ASSETS], asset_checks=[*eval_checks.CHECKS, *checks.CHECKS],
                          jobs=[*eval_jobs.JOBS, *jobs.JOBS], sensors=sensors.SENSORS, resources=resources)


def _meta(result, asset: str) -> dict[str, dict]:
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
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        versions, latest = fleet_prompts.observed_versions(conn)
        fleet_prompts.seed_registry(conn, versions, production=latest)
    engine.dispose()
    return sqlite_url


def _decide(defs, instance, **config):
    return defs.resolve_job_def("proposal_decision").execute_in_process(
        instance=instance, run_config={"ops": {"decide_proposal": {"config": config}}}, raise_on_error=False)


def test_findings_to_proposals_to_decisions_through_dagster(loaded, incidents, tmp_path, make_resources):
    defs = _defs(make_resources(loaded, tmp_path))
    engine = sa.create_engine(loaded)
    day = END.isoformat()
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("evaluation_daily").execute_in_process(instance=instance, partition_key=day).success
        run = defs.resolve_job_def("improvement_daily").execute_in_process(instance=instance, partition_key=day)
        assert run.success
        made = _meta(run, "improvement_proposals")[day]
        rows = [r.data for r in made["proposals_table"].records]
        assert made["proposals"] == len(rows) > 0 and made["created"] == len(rows)
        latency = next(i for i in incidents if i.kind == "latency_regression")
        outage = next(i for i in incidents if i.kind == "outage")
        rollback = [r for r in rows if r["kind"] == "prompt_rollback" and r["agent"] == latency.agent_id]
        assert rollback and "→" in rollback[0]["expected"] and "CI" in rollback[0]["expected"], rows
        on_outage = [r for r in rows if outage.agent_id in r["agent"].split(", ")]
        assert on_outage and all(r["kind"] == "config_change" for r in on_outage), on_outage  # resilience only
        assert "```diff" in made["proposals_detail"] or "rollback:" in made["proposals_detail"]

        decided = _meta(run, "proposal_decisions")[day]
        auto = [r.data for r in decided["auto_approved"].records]
        waiting = [r.data for r in decided["waiting_for_a_person"].records]
        assert decided["auto_approved_today"] == len(auto) and decided["waiting_count"] == len(waiting)
        assert len(auto) + len(waiting) == len(rows)
        assert all(r["by"].startswith("auto:") for r in auto)
        assert all(w["why_waiting"] for w in waiting)
        evals = {(e.check_name, e.partition): e for e in run.get_asset_check_evaluations()}
        assert evals[("high_risk_waits_for_a_person", day)].passed
        assert ("proposals_quantified", day) in evals
        assert _meta(run, "knowledge_base")[day]["active_learnings"] == 0  # nothing adopted yet

        # a re-run merges: no new rows, the same day counted once
        with engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(improvement_proposals)).scalar_one()
        again = defs.resolve_job_def("improvement_daily").execute_in_process(instance=instance, partition_key=day)
        assert again.success and _meta(again, "improvement_proposals")[day]["created"] == 0
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(improvement_proposals)).scalar_one() == n
            assert set(conn.execute(sa.select(improvement_proposals.c.occurrences)).scalars()) == {1}

        # a person decides from the Launchpad: bad input fails the run, nothing changes
        with engine.connect() as conn:
            trail = conn.execute(sa.select(sa.func.count()).select_from(proposal_events)).scalar_one()
            states = dict(conn.execute(sa.select(improvement_proposals.c.proposal_id, improvement_proposals.c.state)).all())
        target = waiting[0]["proposal"] if waiting else rows[0]["proposal"]
        bad = _decide(defs, instance, proposal_id="prop-000000000000", decision="approve", reviewer="ana", reason="ok")
        assert not bad.success
        failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
        assert "prop-000000000000" in str(failure.event_specific_data.error.message)
        assert not _decide(defs, instance, proposal_id=target, decision="approve", reviewer="ana", reason=" ").success
        with pytest.raises(dg.DagsterInvalidConfigError):
            _decide(defs, instance, proposal_id=target, decision="maybe", reviewer="ana", reason="ok")
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(proposal_events)).scalar_one() == trail
            assert dict(conn.execute(sa.select(improvement_proposals.c.proposal_id,
                                               improvement_proposals.c.state)).all()) == states
        if states[target] == "proposed":
            assert _decide(defs, instance, proposal_id=target, decision="approve", reviewer="ana",
                           reason="the evidence holds").success

        # the sensor requests the apply run for every approved, unapplied proposal
        sensor = defs.get_sensor_def("approved_proposals_sensor")
        with engine.connect() as conn:
            approved = [r["proposal_id"] for r in workflow.list_proposals(conn, state="approved", limit=None)]
        result = sensor(dg.build_sensor_context(instance=instance, resources={"ops_db": make_resources(loaded, tmp_path)["ops_db"]}))
        assert approved and len(result.run_requests) == 1
        request = result.run_requests[0]
        assert sorted(request.run_config["ops"]["apply_proposals"]["config"]["proposal_ids"]) == sorted(approved)
        production_before = _labels(engine, latency.agent_id)
        applied = defs.resolve_job_def("apply_approved_proposals").execute_in_process(
            instance=instance, run_config=request.run_config)
        assert applied.success
        assert _labels(engine, latency.agent_id)["production"] == production_before["production"]  # untouched
        with engine.connect() as conn:
            rows_after = workflow.list_proposals(conn, state="approved", limit=None)
        assert all(r["applied"] for r in rows_after)
        prompt_ones = [r for r in rows_after if r["kind"] in ("prompt_rollback", "prompt_change")]
        for r in prompt_ones:
            assert _labels(engine, r["agent_id"])["candidate"] == r["applied"]["prompt_version"]
        again = sensor(dg.build_sensor_context(instance=instance, resources={"ops_db": make_resources(loaded, tmp_path)["ops_db"]}))
        assert not again.run_requests  # nothing left to apply
    engine.dispose()


def _labels(engine, agent: str) -> dict[str, str]:
    with engine.connect() as conn:
        return prompts.labels(conn, agent, "system")


def test_the_daily_schedule_runs_after_evaluation():
    schedule = location.defs.get_schedule_def("improvement_daily_0500_utc")
    assert schedule.cron_schedule == "0 5 * * *" and schedule.job_name == "improvement_daily"
