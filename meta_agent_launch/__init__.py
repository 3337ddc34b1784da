"""Running the code location's named jobs on the instance, from outside Dagster.

``meta-agent demo`` and ``meta-agent request --wait`` run jobs this way: a run of the named job
(``agent_ops_daily``, ``script_factory_job``…) in the instance at ``DAGSTER_HOME`` — on the Jobs
and Runs pages afterwards, with every event — executed in this process. Concurrency pools
(the ``sandbox`` pool of ``script_run``) apply as in any run; the run queue's tag limits apply
to the runs the daemon launches. ``python -m meta_agent_launch`` is the same as a command.

A package on top of both layers: the library never imports it (its CLI runs it as a process).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import dagster as dg

from meta_agent_defs.definitions import defs

# Callers print their own summary; every event (warnings included) is in the run's log in the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
# A refused request skips its script, so the blocking validity check has nothing to gate and
# Dagster's planner says so on the process's own logger; the run's event log shows the skip.
logging.getLogger("dagster._core.execution.plan.active").setLevel(logging.ERROR)


@functools.cache
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get()


def run_job(job: str, *, partition_range: tuple[str, str] | None = None, partition_key: str | None = None,
            dynamic_partitions: str | None = None, tags: dict[str, str] | None = None,
            asset_selection: Sequence[dg.AssetKey] | None = None, run_config: dict | None = None,
            on: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    """Run ``job`` for one partition, a partition range or none. ``dynamic_partitions`` names
    the dynamic partitions definition ``partition_key`` belongs to; it is added when new (what
    the request sensor does for the runs it requests); ``run_config`` is the ops' config (the
    Launchpad's), merged with the quiet console logger."""
    inst = on or instance()
    run_tags = dict(tags or {})
    if partition_range:
        run_tags.update({"dagster/asset_partition_range_start": partition_range[0],
                         "dagster/asset_partition_range_end": partition_range[1]})
    if dynamic_partitions and partition_key and not inst.has_dynamic_partition(dynamic_partitions, partition_key):
        inst.add_dynamic_partitions(dynamic_partitions, [partition_key])
    return defs.resolve_job_def(job).execute_in_process(
        instance=inst, partition_key=partition_key, tags=run_tags, run_config={**QUIET, **(run_config or {})},
        asset_selection=list(asset_selection) if asset_selection else None, raise_on_error=False)


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> list[dict]:
    """The metadata of each materialization of ``asset`` in the run, as plain values."""
    return [{k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events() if e.materialization.asset_key.path == [asset]]
