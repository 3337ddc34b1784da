"""Checks of agent operations, one verdict per day: the data-quality suite on each day's
executions and the SLA budgets on each day's metrics. They read what the daily assets
stored (``data_quality_results``, ``sla_evaluations``), so a check re-run needs no recompute.
"""

from collections.abc import Iterator

import dagster as dg

from meta_agent.ops import frames, quality, sla
from meta_agent.ops.verdicts import BUDGET_RULE, quality_verdict, sla_verdict
from meta_agent_defs.agent_ops.assets import sla_compliance, validated_executions
from meta_agent_defs.metadata import Column, table
from meta_agent_defs.partitioned_checks import done, per_partition
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import OpsDatabase

QUALITY_CHECK = dg.AssetCheckSpec(
    "execution_quality_suite", asset=validated_executions, partitions_def=daily_partitions,
    description="great-expectations suite on the day's executions: required columns, non-null values, allowed "
                "statuses, non-negative latency/tokens/cost, ended_at >= started_at, non-blank agent ids. "
                "Failing rows are kept out of the metrics (execution_rejections).")

SLA_CHECKS = {m.key: dg.AssetCheckSpec(
    f"sla_{m.key.removeprefix('min_').removeprefix('max_').removesuffix('_ms').removesuffix('_usd')}",
    asset=sla_compliance, partitions_def=daily_partitions,
    description=f"{m.label} per agent against its SLA ({BUDGET_RULE[m.kind]}): WARN from 80 % of the budget, "
                "ERROR above 100 %.") for m in sla.METRICS}

FLAGGED = [Column("agent"), Column("status"), Column("actual"), Column("limit"),
           Column("budget_used", description="share of the error budget used"),
           Column("driven_by", description="executions that drove it (ids)")]


def _days(context: dg.AssetCheckExecutionContext) -> list:
    window = context.op_execution_context.partition_time_window
    return frames.days_in(window.start, window.end)


@dg.asset_check(asset=validated_executions, name=QUALITY_CHECK.name, description=QUALITY_CHECK.description,
                partitions_def=daily_partitions)
def execution_quality_suite(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    with ops_db.engine.connect() as conn:
        verdicts = {d.isoformat(): quality_verdict(quality.quality_for_day(conn, d)) for d in _days(context)}
    yield from per_partition(context, QUALITY_CHECK, verdicts, {k: {"failing": table(v.rows, [
        Column("expectation"), Column("unexpected", "int"), Column("examples")])} for k, v in verdicts.items()})
    yield done()


@dg.multi_asset_check(specs=list(SLA_CHECKS.values()), name="sla_budgets", can_subset=True,
                      description="The SLA budgets of each agent's day, one check per metric.")
def sla_budgets(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    with ops_db.engine.connect() as conn:
        by_day = {d.isoformat(): sla.evaluations_for_day(conn, d) for d in _days(context)}
    for key, spec in SLA_CHECKS.items():
        if spec.key not in context.selected_asset_check_keys:
            continue
        verdicts = {day: sla_verdict(rows, key) for day, rows in by_day.items()}
        yield from per_partition(context, spec, verdicts, {d: {"flagged": table(v.rows, FLAGGED)} for d, v in verdicts.items()})
        yield dg.Output(None, output_name=spec.get_python_identifier())


CHECKS = [execution_quality_suite, sla_budgets]
