"""New script requests -> partitions and runs (run key = request id)."""

import dagster as dg

from meta_agent.scriptgen import intake
from meta_agent.scriptgen import repository as repo
from meta_agent_defs.partitions import script_request_partitions
from meta_agent_defs.resources import ArtifactStore, OpsDatabase
from meta_agent_defs.script_factory.jobs import RUN_TAGS, script_factory_job


@dg.sensor(name="script_request_sensor", job=script_factory_job, minimum_interval_seconds=15,
           default_status=dg.DefaultSensorStatus.RUNNING, tags={"meta_agent/capability": "script_factory"},
           description="Every 15 s: request files in artifacts/requests and requests still 'received' "
                       "become script_requests partitions and script_factory_job runs (run key = request id).")
def script_request_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase,
                          artifacts: ArtifactStore) -> dg.SensorResult:
    """Records request files from the drop folder (artifacts/requests/*.txt|*.json), then turns
    every request still 'received' (from the CLI, the drop folder or the API) into a
    script_requests partition and a script_factory_job run keyed by the request id."""
    found = intake.scan_drop_folder(ops_db.engine, artifacts.dir("requests"))
    with ops_db.engine.connect() as conn:
        pending = repo.request_ids(conn, status="received")
    known = set(context.instance.get_dynamic_partitions(script_request_partitions.name))
    new = [rid for rid in pending if rid not in known]
    for bad in found.rejected:
        context.log.warning(f"rejected request file: {bad['reason']}")
    summary = f"{len(found.accepted)} request files recorded, {len(found.rejected)} rejected; {len(pending)} to run"
    if not pending:
        return dg.SensorResult(skip_reason=f"no new requests ({summary})")
    context.log.info(summary)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=rid, partition_key=rid, tags=RUN_TAGS) for rid in pending],
        dynamic_partitions_requests=[script_request_partitions.build_add_request(new)] if new else [],
    )


SENSORS = [script_request_sensor]
