"""The simulation capability in Dagster, in process: a request × scenario partition of
scenario_run with its expected-outcome check (WARN outside the range, tied to the partition),
the request's comparison with charts inline, and the scenario sync sensor."""

from __future__ import annotations

import dagster as dg
import pytest

from meta_agent.scriptgen import factory
from meta_agent.scriptgen import repository as repo
from meta_agent.simulation import catalog
from meta_agent.simulation.present import expected_check_verdict as expected_verdict
from meta_agent.simulation.scenario import parse_scenario
from meta_agent.store.engine import engine_for
from meta_agent_defs.partitions import scenario_partitions, script_request_partitions
from meta_agent_defs.resources import RepoConfig, RunnerKind, SandboxResource
from meta_agent_defs.simulation.definitions import defs as simulation_defs
from meta_agent_defs.simulation.sensors import scenario_sync_sensor

pytestmark = pytest.mark.slow

SCENARIOS = {
    "base": "scenario:\n  name: Base Case\n  expected_outcome: {dscr_range: [1.0, 3.0]}\n",
    "squeeze": "scenario:\n  name: Squeeze\n  parameters: {noi_multiplier: 0.6}\n"
               "  expected_outcome: {dscr_range: [1.2, 2.0]}\n",
}


@pytest.fixture
def env(factory_env, tmp_path, make_resources, local_runner):
    engine = engine_for(factory_env)
    with engine.begin() as conn:
        rid = repo.submit_request(conn, "DSCR for all properties", source="test")["request_id"]
    assert factory.process(engine, rid, runner=local_runner, execute=False)["status"] == "generated"
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for key, text in SCENARIOS.items():
        (folder / f"{key}.yaml").write_text(text)
    resources = make_resources(factory_env, tmp_path, sandbox=SandboxResource(runner=RunnerKind.LOCAL))
    resources["repo_config"] = RepoConfig(config_dir=resources["repo_config"].config_dir, scenarios_dir=str(folder))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(script_request_partitions.name, [rid])
    return engine, rid, resources, instance, folder


def job(resources, name):
    return dg.Definitions.merge(simulation_defs, dg.Definitions(resources=resources)).resolve_job_def(name)


def meta(result, asset):
    (ev,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: getattr(v, "value", v) for k, v in ev.materialization.metadata.items()}


def test_sensor_then_partitions_then_check_then_comparison(env):
    engine, rid, resources, instance, folder = env
    (folder / "broken.yaml").write_text("scenario:\n  name: Broken\n  parameters: {noi_multiplier: 0.8\n")
    sensor_resources = {k: resources[k] for k in ("ops_db", "repo_config")}
    with dg.build_sensor_context(instance=instance, resources=sensor_resources) as ctx:
        result = scenario_sync_sensor(ctx)
    (request,) = result.dynamic_partitions_requests
    assert sorted(request.partition_keys) == ["base", "squeeze"] and not result.run_requests
    instance.add_dynamic_partitions(scenario_partitions.name, list(request.partition_keys))
    with dg.build_sensor_context(instance=instance, resources=sensor_resources) as ctx:
        assert "1 rejected" in scenario_sync_sensor(ctx).skip_reason.skip_message

    runs = {}
    for key in SCENARIOS:
        pk = dg.MultiPartitionKey({"request": rid, "scenario": key})
        runs[key] = job(resources, "scenario_run_job").execute_in_process(instance=instance, partition_key=pk)
        assert runs[key].success
    squeeze = meta(runs["squeeze"], "scenario_run")
    assert squeeze["outcome"] == "ran" and squeeze["dscr_in_range"] is False
    assert squeeze["portfolio_dscr"] == pytest.approx(meta(runs["base"], "scenario_run")["portfolio_dscr"] * 0.6)
    assert {c.name for c in squeeze["values"].schema.columns} >= {"property_id", "metric", "value"}
    assert squeeze["tornado"].startswith("![") and len(squeeze["tornado"]) < 1000
    (check,) = runs["squeeze"].get_asset_check_evaluations()
    assert check.check_name == "expected_outcome_in_range" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN and "outside 1.2–2" in check.description
    assert check.partition == str(dg.MultiPartitionKey({"request": rid, "scenario": "squeeze"}))
    assert check.target_materialization_data is not None  # the UI ties the verdict to that partition
    (base_check,) = runs["base"].get_asset_check_evaluations()
    assert base_check.passed

    comparison = job(resources, "scenario_comparison_job").execute_in_process(instance=instance, partition_key=rid)
    assert comparison.success
    m = meta(comparison, "scenario_comparison")
    assert m["scenarios"] == 2 and m["broken_ranges"] == 1 and m["base"] == "base"
    rows = {(r.data["scenario"], r.data["metric"]): r.data for r in m["comparison"].records}
    assert rows[("squeeze", "dscr")]["delta_shown"] == "-40.0 %"
    assert "OUTSIDE" in rows[("squeeze", "dscr")]["expected"]
    assert m["distribution"].startswith("![") and len(m["distribution"]) < 1000
    assert m["distribution_png"].startswith("![distribution](data:image/png;base64,")
    assert "Squeeze: portfolio dscr" in m["outliers_and_ranges"] and "outside the expected 1.2–2" in m["outliers_and_ranges"]


def test_a_scenario_partition_of_a_refused_request_fails_with_the_reason(env, factory_env):
    engine, _, resources, instance, _ = env
    with engine.begin() as conn:
        rid = repo.submit_request(conn, "book me a flight to Paris", source="test")["request_id"]
    factory.process(engine, rid, execute=False)
    catalog.sync_directory(engine, resources["repo_config"].scenarios_path())
    instance.add_dynamic_partitions(script_request_partitions.name, [rid])
    instance.add_dynamic_partitions(scenario_partitions.name, ["base"])
    result = job(resources, "scenario_run_job").execute_in_process(
        instance=instance, partition_key=dg.MultiPartitionKey({"request": rid, "scenario": "base"}),
        raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "was not planned" in failure.step_failure_data.user_failure_data.description


def test_an_unknown_scenario_key_is_a_clear_error(env):
    engine, rid, resources, instance, _ = env
    instance.add_dynamic_partitions(scenario_partitions.name, ["ghost"])
    result = job(resources, "scenario_run_job").execute_in_process(
        instance=instance, partition_key=dg.MultiPartitionKey({"request": rid, "scenario": "ghost"}),
        raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "scenario 'ghost' is not known" in failure.step_failure_data.user_failure_data.description
    assert parse_scenario(SCENARIOS["base"], path="base.yaml", key="base").is_base


def test_the_check_warns_when_a_stated_range_could_not_be_checked():
    ran = {"status": "succeeded", "result": {"expected": [
        {"metric": "dscr", "range": [1.0, 2.0], "portfolio_mean": 1.5, "in_range": True, "outside": []},
        {"metric": "irr", "range": [0.05, 0.2], "portfolio_mean": None, "in_range": None, "outside": []}]}}
    v = expected_verdict(ran, 2)
    assert not v.passed and v.severity == "warn" and "irr not reported by the script" in v.description
    refused = expected_verdict({"status": "refused", "result": {"expected": []}}, 1)
    assert not refused.passed and "not checked: the scenario run is refused (1 expected range(s) stated)" == \
        refused.description
    assert expected_verdict(None, 0).passed  # nothing stated, nothing to check
