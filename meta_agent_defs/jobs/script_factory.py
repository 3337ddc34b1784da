"""The script factory job, and running one request through it in-process.

``script_factory_job`` materializes plan -> script -> run for a request partition; its runs
carry ``meta_agent/kind=script_run`` (the instance allows 5 of those at once). With the
DockerRunLauncher (deploy/docker) each run gets its own container.

``python -m meta_agent_defs.jobs.script_factory REQUEST_ID`` runs one request through Dagster
in this process, on the instance at ``DAGSTER_HOME``, and prints one JSON line with the run's
id and outcome — what ``meta-agent request --wait`` calls.
"""

import json
import sys

import dagster as dg

from meta_agent_defs.partitions import script_request_partitions

RUN_TAGS = {"meta_agent/kind": "script_run"}

script_factory_job = dg.define_asset_job(
    "script_factory_job",
    selection=dg.AssetSelection.groups("script_factory"),
    tags=RUN_TAGS,
    description="Plan, generate (or reuse), validate and run the script for one request.",
)


def materialize_request(request_id: str, instance: dg.DagsterInstance | None = None,
                        extra_tags: dict[str, str] | None = None,
                        console_log_level: str = "WARNING") -> dg.ExecuteInProcessResult:
    """Add the request's partition (if new) and materialize its assets in this process.

    Only the console logger is quieted (the demo and the CLI print their own summary); the
    run's full event log, script output included, is stored as usual and shown in the UI."""
    from meta_agent_defs.assets.script_factory import SCRIPT_FACTORY_ASSETS
    from meta_agent_defs.definitions import defs

    instance = instance or dg.DagsterInstance.get()
    if not instance.has_dynamic_partition(script_request_partitions.name, request_id):
        instance.add_dynamic_partitions(script_request_partitions.name, [request_id])
    return dg.materialize(SCRIPT_FACTORY_ASSETS, instance=instance, resources=defs.resources,
                          partition_key=request_id, tags={**RUN_TAGS, **(extra_tags or {})},
                          run_config={"loggers": {"console": {"config": {"log_level": console_log_level}}}},
                          raise_on_error=False)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m meta_agent_defs.jobs.script_factory REQUEST_ID", file=sys.stderr)
        return 2
    result = materialize_request(argv[0], extra_tags={"meta_agent/source": "cli"})
    print(json.dumps({"request_id": argv[0], "run_id": result.run_id, "success": result.success}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
