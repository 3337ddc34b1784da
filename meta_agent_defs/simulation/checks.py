"""Per scenario partition: did the portfolio land where the scenario said it would?"""

from collections.abc import Iterator

import dagster as dg

from meta_agent.errors import MetaAgentError
from meta_agent.ops.verdicts import Verdict
from meta_agent.simulation import catalog
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


def expected_verdict(row: dict | None, stated: int) -> Verdict:
    """The stored scenario run's expected-outcome verdict as a check verdict: WARN outside a
    range, and WARN when a stated range could not be checked (the run failed or was refused,
    or its script does not report the metric)."""
    if row is None or row["status"] not in ("succeeded", "no_data"):
        status = "no run" if row is None else row["status"]
        return Verdict(stated == 0, "warn", f"not checked: the scenario run is {status}"
                       + (f" ({stated} expected range(s) stated)" if stated else ""), {"ranges": stated})
    expected = (row.get("result") or {}).get("expected") or []
    unchecked = [e for e in expected if e["in_range"] is None]
    broken = [e for e in expected if e["in_range"] is False]
    rows = [{"metric": e["metric"], "range": f"{e['range'][0]:g} – {e['range'][1]:g}",
             "portfolio_mean": e["portfolio_mean"],
             "outside": ", ".join(f"{x['property_id']} {x['value']:.3g}" for x in e["outside"][:20])} for e in expected]
    if not expected:
        return Verdict(True, "warn", "the scenario states no expected outcome", {"ranges": 0}, rows)
    text = "; ".join([*(f"{e['metric']} {e['portfolio_mean']:.4g} outside {e['range'][0]:g}–{e['range'][1]:g} "
                        f"({len(e['outside'])} properties outside)" for e in broken),
                      *(f"{e['metric']} not reported by the script: its range is not checked" for e in unchecked)])
    return Verdict(not broken and not unchecked, "warn", text or f"{len(expected)} expected range(s) held",
                   {"ranges": len(expected), "broken": len(broken), "unchecked": len(unchecked)}, rows)


@dg.asset_check(asset=scenario_run, name=EXPECTED_CHECK.name, partitions_def=request_scenario_partitions,
                description=EXPECTED_CHECK.description)
def expected_outcome_in_range(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> Iterator:
    key = context.op_execution_context.partition_key
    with ops_db.engine.connect() as conn:
        row = srepo.read_scenario_run(conn, key.keys_by_dimension["request"], key.keys_by_dimension["scenario"])
    verdict = expected_verdict(row, _stated(ops_db, key))
    yield from per_partition(context, EXPECTED_CHECK, {str(key): verdict}, {str(key): {"ranges_table": table(verdict.rows, OUTSIDE)}})
    yield done()


def _stated(ops_db: OpsDatabase, key) -> int:
    """How many ranges the scenario states (a refused or failed run stored none)."""
    try:
        return len(catalog.get(ops_db.engine, key.keys_by_dimension["scenario"]).expected_outcome)
    except MetaAgentError:
        return 0


CHECKS = [expected_outcome_in_range]
