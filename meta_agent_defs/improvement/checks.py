"""Checks of improvement, one verdict per partition:

- ``proposals_quantified`` (WARN): a proposal of the day without an expected effect and its
  interval is a change nobody can weigh;
- ``high_risk_waits_for_a_person`` (ERROR): a high-risk proposal approved by a rule — the
  approval rules must never allow it.
"""

from collections.abc import Iterator

import dagster as dg

from meta_agent.improvement import pipeline
from meta_agent.ops import frames
from meta_agent_defs.improvement.assets import improvement_proposals, proposal_decisions
from meta_agent_defs.metadata import Column, table
from meta_agent_defs.partitioned_checks import done, per_partition
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import OpsDatabase

QUANTIFIED = dg.AssetCheckSpec(
    "proposals_quantified", asset=improvement_proposals, partitions_def=daily_partitions,
    description="Every proposal of the day carries an expected effect with a 95 % interval (WARN otherwise).")
PERSON = dg.AssetCheckSpec(
    "high_risk_waits_for_a_person", asset=proposal_decisions, partitions_def=daily_partitions,
    description="No high-risk proposal was ever approved by a rule (ERROR otherwise).")
ROWS = [Column("agent"), Column("what"), Column("why")]


def _check_days(context: dg.AssetCheckExecutionContext) -> list[str]:
    window = context.op_execution_context.partition_time_window
    return [d.isoformat() for d in frames.days_in(window.start, window.end)]


@dg.asset_check(asset=improvement_proposals, name=QUANTIFIED.name, description=QUANTIFIED.description,
                partitions_def=daily_partitions)
def proposals_quantified(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    verdicts = {d: pipeline.quantified_verdict(ops_db.url, d) for d in _check_days(context)}
    yield from per_partition(context, QUANTIFIED, verdicts,
                             {k: {"unquantified": table(v.rows, ROWS)} for k, v in verdicts.items()})
    yield done()


@dg.asset_check(asset=proposal_decisions, name=PERSON.name, description=PERSON.description,
                partitions_def=daily_partitions)
def high_risk_waits_for_a_person(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    verdicts = {d: pipeline.high_risk_verdict(ops_db.url, d) for d in _check_days(context)}
    yield from per_partition(context, PERSON, verdicts,
                             {k: {"auto_approved_high_risk": table(v.rows, ROWS)} for k, v in verdicts.items()})
    yield done()


CHECKS = [proposals_quantified, high_risk_waits_for_a_person]
