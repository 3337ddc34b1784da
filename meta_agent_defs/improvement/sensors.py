"""Approved proposals → the run that applies them. The sensor only reads and requests runs."""

import dagster as dg

from meta_agent.improvement import pipeline
from meta_agent_defs.improvement.jobs import apply_approved_proposals_job
from meta_agent_defs.resources import OpsDatabase


@dg.sensor(name="approved_proposals_sensor", job=apply_approved_proposals_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING, tags={"meta_agent/capability": "improvement"},
           description="Every 30 s: approved proposals nothing has applied yet → one apply_approved_proposals run "
                       "(run key: the ids and their last change, so a tick never requests the same work twice).")
def approved_proposals_sensor(context: dg.SensorEvaluationContext, ops_db: OpsDatabase) -> dg.SensorResult:
    """Picks up approved, unapplied proposals and requests the run that applies them."""
    pending = pipeline.pending_application(ops_db.url)
    if not pending:
        return dg.SensorResult(skip_reason="no approved proposal waits to be applied")
    ids = [p["proposal_id"] for p in pending]
    run_key = "apply:" + ",".join(f"{p['proposal_id']}@{p['updated_at']:%Y%m%dT%H%M%S%f}" for p in pending)
    return dg.SensorResult(run_requests=[dg.RunRequest(
        run_key=run_key[:512], run_config={"ops": {"apply_proposals": {"config": {"proposal_ids": ids}}}},
        tags={"meta_agent/proposals": ",".join(ids)[:200]})])


SENSORS = [approved_proposals_sensor]
