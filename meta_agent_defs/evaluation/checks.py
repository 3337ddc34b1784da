"""Checks of evaluation, one verdict per partition, read back from what the assets stored:

- ``every_failure_embedded`` (ERROR): a failed execution of the day without a vector is a
  failure ``eval similar`` and the clusters cannot see.
- ``regressions_explained`` (WARN): a finding of the day whose category is ``unknown`` or
  whose confidence is below ``pipeline.EXPLAINED_CONFIDENCE`` is a regression nobody can act on yet.
- ``report_regressions_have_findings`` (WARN): a significant regression in a week's report
  with no root-cause finding of that agent in the week.
"""

from collections.abc import Iterator

import dagster as dg

from meta_agent.evaluation import pipeline
from meta_agent_defs.evaluation.assets import (
    agent_evaluation_report,
    failure_embeddings,
    root_cause_findings,
)
from meta_agent_defs.metadata import Column, table
from meta_agent_defs.partitioned_checks import done, per_partition
from meta_agent_defs.partitions import daily_partitions, weekly_partitions
from meta_agent_defs.resources import OpsDatabase

EMBEDDED = dg.AssetCheckSpec(
    "every_failure_embedded", asset=failure_embeddings, partitions_def=daily_partitions,
    description="Every failed or timed-out execution of the day has a vector (ERROR otherwise).")
EXPLAINED = dg.AssetCheckSpec(
    "regressions_explained", asset=root_cause_findings, partitions_def=daily_partitions,
    description=f"Every finding of the day has a category (not unknown) with confidence ≥ "
                f"{pipeline.EXPLAINED_CONFIDENCE:.0%}; WARN otherwise — an unexplained regression.")
REPORTED = dg.AssetCheckSpec(
    "report_regressions_have_findings", asset=agent_evaluation_report, partitions_def=weekly_partitions,
    description="Every significant regression in the week's reports has a root-cause finding of that agent "
                "in the week; WARN otherwise.")
ROWS = [Column("agent"), Column("what"), Column("why")]


def _check_days(context: dg.AssetCheckExecutionContext) -> list:
    window = context.op_execution_context.partition_time_window
    return [d.isoformat() for d in pipeline.days_between(window.start, window.end)]


@dg.asset_check(asset=failure_embeddings, name=EMBEDDED.name, description=EMBEDDED.description,
                partitions_def=daily_partitions)
def every_failure_embedded(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    verdicts = {d: pipeline.embedded_verdict(ops_db.url, d) for d in _check_days(context)}
    yield from per_partition(context, EMBEDDED, verdicts, {k: {"missing": table(v.rows, ROWS)} for k, v in verdicts.items()})
    yield done()


@dg.asset_check(asset=root_cause_findings, name=EXPLAINED.name, description=EXPLAINED.description,
                partitions_def=daily_partitions)
def regressions_explained(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    verdicts = {d: pipeline.explained_verdict(ops_db.url, d) for d in _check_days(context)}
    yield from per_partition(context, EXPLAINED, verdicts, {k: {"unexplained": table(v.rows, ROWS)} for k, v in verdicts.items()})
    yield done()


@dg.asset_check(asset=agent_evaluation_report, name=REPORTED.name, description=REPORTED.description,
                partitions_def=weekly_partitions)
def report_regressions_have_findings(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    window = context.op_execution_context.partition_time_window
    key = window.start.date().isoformat()
    verdicts = {key: pipeline.report_verdict(ops_db.url, window.start.date())}
    yield from per_partition(context, REPORTED, verdicts, {key: {"without_finding": table(verdicts[key].rows, ROWS)}})
    yield done()


CHECKS = [every_failure_embedded, regressions_explained, report_regressions_have_findings]
