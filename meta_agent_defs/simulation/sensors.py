"""Scenario files and CLI-added scenarios -> the ``scenarios`` dynamic partitions."""

from pathlib import Path

import dagster as dg

from meta_agent.simulation import catalog
from meta_agent_defs.partitions import scenario_partitions
from meta_agent_defs.resources import OpsDatabase, RepoConfig
from meta_agent_defs.simulation.jobs import scenario_run_job


@dg.sensor(name="scenario_sync_sensor", job=scenario_run_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING, tags={"meta_agent/capability": "simulation"},
           description="Every 30 s: validates scenarios/*.yaml, stores the good ones, and adds every known scenario "
                       "(files and `meta-agent simulate scenarios add`) to the scenarios partitions. A bad file is "
                       "logged with its sentence and never stops the others. Requests no runs: a batch simulation "
                       "is a backfill.")
def scenario_sync_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase,
                         repo_config: RepoConfig) -> dg.SensorResult:
    """Syncs the scenarios folder into the ops database and the scenarios partitions."""
    report = catalog.sync_directory(ops_db.engine, Path(repo_config.scenarios_path()))
    for error in report.errors:
        context.log.warning(f"scenario file rejected: {error}")
    keys = [s.key for s in catalog.known(ops_db.engine)]
    have = set(context.instance.get_dynamic_partitions(scenario_partitions.name))
    new = [k for k in keys if k not in have]
    sentence = f"{report.sentence()}; {len(new)} new partitions"
    if not new:
        return dg.SensorResult(skip_reason=sentence)
    context.log.info(sentence)
    return dg.SensorResult(dynamic_partitions_requests=[scenario_partitions.build_add_request(new)])


SENSORS = [scenario_sync_sensor]
