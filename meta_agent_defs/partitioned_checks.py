"""Asset checks that report one result per partition, also in a range run.

A single-run backfill covers many days in one step; ``AssetCheckResult`` would give the whole
range one verdict (green on breach days). A check built here yields one
``AssetCheckEvaluation`` per partition instead, so the partition bar and each day's check
history say what happened on that day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import dagster as dg

from meta_agent.ops.verdicts import Verdict

SEVERITY = {"warn": dg.AssetCheckSeverity.WARN, "error": dg.AssetCheckSeverity.ERROR}


def per_partition(spec: dg.AssetCheckSpec, verdicts: Mapping[str, Verdict],
                  metadata: Mapping[str, Mapping] | None = None) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation of ``spec`` per partition key in ``verdicts`` (with extra metadata per
    key when given)."""
    for key, v in verdicts.items():
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key, check_name=spec.name, passed=v.passed, partition=key,
            severity=SEVERITY[v.severity], description=v.description,
            metadata={**v.facts, **(metadata or {}).get(key, {})}, blocking=spec.blocking)


def done() -> dg.Output:
    """The check step's own output (the evaluations above carry the results)."""
    return dg.Output(None)
