"""Per scenario partition: did the portfolio land where the scenario said it would?"""

from collections.abc import Iterator

import dagster as dg

from meta_agent.simulation import catalog, present
from meta_agent.simulation import repository as srepo
from meta_agent_defs.metadata import Column, table
from meta_agent_defs.partitioned_checks import done, per_partition
from meta_agent_defs.partitions import request_scenario_partitions
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.simulation.assets import scenario_run

EXPECTED_CHECK = dg.AssetCheckSpec(
    "expected_outcome_in_range", asset=scenario_run, partitions_def=request_scenario_partitions,
    description="The scenario's expected_outcome ranges (dscr_range, cap_rate_range, ...) against the portfolio mean "
                "of the metric: WARN outside a range, with the properties whose own figure broke it.")
OUTSIDE = [Column("metric"), Column("range"), Column("portfolio_mean", "float"),
           Column("outside", description="properties outside the range, with their figure")]


@dg.asset_check(asset=scenario_run, name=EXPECTED_CHECK.name, partitions_def=request_scenario_partitions,
                description=EXPECTED_CHECK.description)
def expected_outcome_in_range(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    key = context.op_execution_context.partition_key
    with ops_db.engine.connect() as conn:
        row = srepo.read_scenario_run(conn, key.keys_by_dimension["request"], key.keys_by_dimension["scenario"])
    verdict = present.expected_check_verdict(row, catalog.stated_ranges(ops_db.engine, key.keys_by_dimension["scenario"]))
    yield from per_partition(context, EXPECTED_CHECK, {str(key): verdict}, {str(key): {"ranges_table": table(verdict.rows, OUTSIDE)}})
    yield done()


CHECKS = [expected_outcome_in_range]
