"""Backfills of the code location's assets, submitted to the instance and driven to the end.

A batch simulation is a real Dagster backfill (on the Backfills page, one run per partition),
not a loop in this process. ``submit`` records it on the instance at ``DAGSTER_HOME``. Where a
``dagster-daemon`` is running (``make dev``, deploy/docker) it does the rest; ``drive`` waits
for it. Where none is (``meta-agent demo``, ``simulate run --wait`` on a laptop), ``drive``
runs the two daemon loops a backfill needs — the backfill daemon, which turns it into runs, and
the run queue, which launches them as their own processes (the instance's run launcher) —
until every run has finished. The ``sandbox`` pool bounds the scripts that run at once across
those runs, exactly as under the daemon; the run queue's tag limits (``meta_agent/kind``)
bound the runs.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.definitions.selector import (
    PartitionRangeSelector,
    PartitionsByAssetSelector,
    PartitionsSelector,
)
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster._time import datetime_from_timestamp

from meta_agent_defs.definitions import defs
from meta_agent_launch import QUIET

CODE_MODULE = "meta_agent_defs.definitions"
LOCATION = "meta_agent_defs"  # workspace.yaml's location name: runs launched here look the same in the UI
DAEMON_FRESH_S = 60  # a daemon heartbeat younger than this means a daemon is driving backfills
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
DONE_BACKFILL = {BulkActionStatus.COMPLETED, BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED_FAILED,
                 BulkActionStatus.FAILED, BulkActionStatus.CANCELED}

log = logging.getLogger("meta_agent_launch.backfill")


@dataclass
class BackfillOutcome:
    backfill_id: str
    status: str
    runs: int
    succeeded: int
    failed: int
    wall_s: float
    driven_here: bool
    run_ids: list[str] = field(default_factory=list)
    max_concurrent_steps: int | None = None  # most script steps running at once (from the event log)


# Each backfill run executes its steps in the run's own process: a step subprocess would load the
# code location a second time (~8 s on a 2-core machine) for a step that runs a 1-3 s script.
# The run's events are in its log (the UI's Runs page), not DEBUG lines on the caller's console.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}, **QUIET}


def submit(partitions_by_asset: Mapping[dg.AssetKey, Sequence[str]], *, tags: dict[str, str] | None = None,
           title: str | None = None, instance: dg.DagsterInstance | None = None,
           run_config: Mapping | None = None) -> str:
    """Record a backfill of exactly these partitions of these assets (Dagster orders them by
    their dependencies: a request's comparison waits for its scenario runs). Returns its id."""
    inst = instance or dg.DagsterInstance.get()
    backfill_id = uuid.uuid4().hex[:8]
    selectors = [PartitionsByAssetSelector(asset_key=key, partitions=PartitionsSelector(
        ranges=[PartitionRangeSelector(start=k, end=k) for k in keys])) for key, keys in partitions_by_asset.items()]
    now = time.time()
    with partition_loading_context(datetime_from_timestamp(now), inst):  # dynamic partitions live on the instance
        backfill = PartitionBackfill.from_partitions_by_assets(
            backfill_id=backfill_id, asset_graph=defs.resolve_asset_graph(), backfill_timestamp=now,
            tags=dict(tags or {}), dynamic_partitions_store=inst, partitions_by_assets=selectors, title=title,
            description=None, run_config=dict(IN_PROCESS if run_config is None else run_config))
    inst.add_backfill(backfill)
    return backfill_id


def daemon_running(instance: dg.DagsterInstance) -> bool:
    beats = instance.get_daemon_heartbeats()
    beat = beats.get("BACKFILL")
    return beat is not None and time.time() - beat.timestamp < DAEMON_FRESH_S


def _runs(instance: dg.DagsterInstance, backfill_id: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id})))


def drive(backfill_id: str, *, timeout_s: float = 1800, poll_s: float = 1.0,
          instance: dg.DagsterInstance | None = None) -> BackfillOutcome:
    """Wait for the backfill to finish — driving it here when no daemon is running."""
    inst = instance or dg.DagsterInstance.get()
    t0 = time.perf_counter()
    here = not daemon_running(inst)
    deadline = time.monotonic() + timeout_s
    with contextlib.ExitStack() as stack:
        context = stack.enter_context(WorkspaceProcessContext(inst, ModuleTarget(
            module_name=CODE_MODULE, attribute=None, working_directory=None, location_name=LOCATION),
            code_server_log_level="WARNING")) if here else None
        queue = QueuedRunCoordinatorDaemon(interval_seconds=1)
        while True:
            if context is not None:
                list(execute_backfill_iteration(context, log))
                list(queue.run_iteration(context))
            backfill = inst.get_backfill(backfill_id)
            runs = _runs(inst, backfill_id)
            if backfill.status in DONE_BACKFILL and all(r.status in FINISHED for r in runs):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfill {backfill_id} still {backfill.status.value} after {timeout_s:.0f} s; "
                                   "see the Backfills page (dagster-webserver) for its runs")
            time.sleep(poll_s)
    runs = _runs(inst, backfill_id)
    return BackfillOutcome(
        backfill_id=backfill_id, status=inst.get_backfill(backfill_id).status.value, runs=len(runs),
        succeeded=sum(r.status == dg.DagsterRunStatus.SUCCESS for r in runs),
        failed=sum(r.status == dg.DagsterRunStatus.FAILURE for r in runs), wall_s=time.perf_counter() - t0,
        driven_here=here, run_ids=[r.run_id for r in runs],
        max_concurrent_steps=max_concurrent_steps(inst, [r.run_id for r in runs]))


def max_concurrent_steps(instance: dg.DagsterInstance, run_ids: Sequence[str], step: str = "scenario_run") -> int:
    """The most ``step`` steps that were running at once across ``run_ids`` (from each step's
    start and success/failure events): what the pool allowed."""
    edges: list[tuple[float, int]] = []
    for run_id in run_ids:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or event.step_key != step:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                edges.append((record.timestamp, 1))
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                edges.append((record.timestamp, -1))
    running = peak = 0
    for _, change in sorted(edges, key=lambda e: (e[0], e[1])):
        running += change
        peak = max(peak, running)
    return peak
