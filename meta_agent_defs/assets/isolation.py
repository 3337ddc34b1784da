"""Isolation: where runs execute, which sandbox runner scripts get, and run-container cleanup.

``sandbox_probe`` records where its run executes (the host, or a DockerRunLauncher run
container — with the evidence) and runs a probe script through the runner ``get_runner()``
picks (kept in ``sandbox_runs``). ``isolation_probe_job`` materializes it; the
DockerRunLauncher demo (scripts/docker-run-launcher-demo.sh) launches that job and the
script-factory job into containers. ``run_container_cleanup`` removes finished run
containers, which DockerRunLauncher leaves behind.
"""


import dagster as dg

from meta_agent.reporting import markdown_table
from meta_agent.sandbox.isolation_report import probe_and_record
from meta_agent_defs.resources import OpsDatabase

GROUP = "isolation"


@dg.asset(group_name=GROUP, kinds={"python"}, tags={"meta_agent/capability": "isolation"})
def sandbox_probe(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """Where this run executes (host or run container, with evidence) and which sandbox runner
    scripts get here, proven by a probe script run through it (no network, its uid)."""
    rep = probe_and_record(ops_db.engine, dagster_run_id=context.run.run_id)
    where = rep["where"]
    place = f"in container {where['container_id'][:12]}" if where["in_container"] else "on the host"
    context.log.info(f"run executes {place} (hostname {where['hostname']}, pid {where['pid']}); "
                     f"scripts get {rep['runner']}")
    return dg.MaterializeResult(metadata={
        "in_container": rep["where"]["in_container"],
        "container_id": rep["where"]["container_id"] or "",
        "hostname": rep["where"]["hostname"],
        "pid": rep["where"]["pid"],
        "evidence": dg.MetadataValue.md("\n".join(f"- {e}" for e in rep["where"]["evidence"]) or "_none: on the host_"),
        "runner": rep["runner"],
        "isolation": rep["isolation"],
        "strength": rep["strength"],
        "probe": dg.MetadataValue.md(markdown_table([rep["probe"]])),
        "probe_run_id": rep["probe"]["run_id"],
    })


isolation_probe_job = dg.define_asset_job(
    "isolation_probe_job", selection=[sandbox_probe], tags={"meta_agent/kind": "isolation_probe"},
    description="Record where a run executes and which sandbox runner its scripts get.")


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Remove finished DockerRunLauncher run containers (the launcher never does).")
def run_container_cleanup(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Removes run containers that exited at least a minute ago and whose run is finished."""
    from meta_agent.errors import ConfigError
    from meta_agent.sandbox.cleanup import remove_finished_run_containers
    from meta_agent.sandbox.engine import connect

    try:
        engine = connect()
    except ConfigError as exc:
        return dg.SkipReason(f"no container engine: {exc}")

    def finished(run_id: str) -> bool:  # another instance's run (shared engine) is not ours to remove
        run = context.instance.get_run_by_id(run_id)
        return run is not None and run.is_finished

    removed = remove_finished_run_containers(engine.client, run_is_finished=finished)
    return dg.SkipReason(f"removed {len(removed)} finished run container(s)"
                         + (f": {', '.join(r[:8] for r in removed)}" if removed else ""))


defs = dg.Definitions(assets=[sandbox_probe], jobs=[isolation_probe_job], sensors=[run_container_cleanup])
