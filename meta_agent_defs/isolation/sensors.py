"""Run-container cleanup: DockerRunLauncher leaves every run's container behind."""

import dagster as dg

from meta_agent.errors import ConfigError
from meta_agent.sandbox.cleanup import remove_finished_run_containers
from meta_agent.sandbox.engine import connect
from meta_agent_defs.resources import SandboxResource


@dg.sensor(name="run_container_cleanup", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           tags={"meta_agent/capability": "isolation"},
           description="Every minute: remove DockerRunLauncher run containers that exited at least a minute ago "
                       "and whose run is finished in this instance (the launcher never removes them).")
def run_container_cleanup(context: dg.SensorEvaluationContext, sandbox: SandboxResource) -> dg.SkipReason:
    try:
        engine = connect(url=sandbox.docker_host or None)
    except ConfigError as exc:
        return dg.SkipReason(f"no container engine: {exc}")

    def finished(run_id: str) -> bool:  # another instance's run (shared engine) is not ours to remove
        run = context.instance.get_run_by_id(run_id)
        return run is not None and run.is_finished

    removed = remove_finished_run_containers(engine.client, run_is_finished=finished)
    return dg.SkipReason(f"removed {len(removed)} finished run container(s)"
                         + (f": {', '.join(r[:8] for r in removed)}" if removed else ""))


SENSORS = [run_container_cleanup]
