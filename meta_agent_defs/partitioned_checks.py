"""Asset checks that report one result per partition, also in a range run.

A single-run backfill covers many days in one step; ``AssetCheckResult`` would give the whole
range one verdict (green on breach days). A check built here yields one
``AssetCheckEvaluation`` per partition instead, each tied to that partition's latest
materialization — without that link the UI's check-partition view shows every partition as
"missing" (tests/ui/FINDINGS.md) — so the partition bar and each day's check history say what
happened on that day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import dagster as dg

# Not exported at the top level in Dagster 1.13; AssetCheckResult builds the same object.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from meta_agent.ops.verdicts import Verdict

SEVERITY = {"warn": dg.AssetCheckSeverity.WARN, "error": dg.AssetCheckSeverity.ERROR}


def latest_materializations(instance: dg.DagsterInstance, asset_key: dg.AssetKey,
                            partitions: list[str]) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """Each partition's newest materialization, in one event-log query."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=partitions), limit=10 * len(partitions) + 10)
    out: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    for r in records.records:  # newest first
        out.setdefault(r.partition_key, AssetCheckEvaluationTargetMaterializationData(
            storage_id=r.storage_id, run_id=r.run_id, timestamp=r.timestamp))
    return out


def per_partition(context: dg.AssetCheckExecutionContext, spec: dg.AssetCheckSpec, verdicts: Mapping[str, Verdict],
                  metadata: Mapping[str, Mapping] | None = None) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation of ``spec`` per partition key in ``verdicts`` (with extra metadata per
    key when given), each targeting that partition's latest materialization."""
    targets = latest_materializations(context.instance, spec.asset_key, list(verdicts))
    for key, v in verdicts.items():
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key, check_name=spec.name, passed=v.passed, partition=key,
            severity=SEVERITY[v.severity], description=v.description,
            metadata={**v.facts, **(metadata or {}).get(key, {})}, blocking=spec.blocking,
            target_materialization_data=targets.get(key))


def done() -> dg.Output:
    """The check step's own output (the evaluations above carry the results)."""
    return dg.Output(None)
