"""Scenario simulation assets: one ``scenario_run`` per request × scenario, one
``scenario_comparison`` per request.

A batch simulation is a backfill over the request × scenario grid: each partition is its own
run, and the ``sandbox`` pool (the same as ``script_run``'s) bounds how many scripts run at once
across them. The comparison of a request waits for its scenario runs (its partition maps to
every scenario of that request).
"""

import json

import dagster as dg

from meta_agent.errors import MetaAgentError
from meta_agent.simulation import catalog, present, runner
from meta_agent_defs.metadata import Column, table
from meta_agent_defs.partitions import request_scenario_partitions, script_request_partitions
from meta_agent_defs.resources import OpsDatabase, ScriptFactoryResource
from meta_agent_defs.script_factory.assets import SANDBOX_POOL, generated_script

GROUP = "simulation"
TAGS = {"meta_agent/capability": "simulation"}
BY_REQUEST = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="request")

VALUE_COLUMNS = [Column("property_id", description="the property"), Column("metric"),
                 Column("value", "float", description="under this scenario (the script's result.json)"),
                 Column("shown", description="in its unit")]
MC_COLUMNS = [Column("property_id"), Column("metric"), Column("mean", "float"), Column("p5", "float"),
              Column("p50", "float"), Column("p95", "float"),
              Column("cvar_95", "float", description="mean of the worst 5 % of iterations (the low tail; the high "
                                                     "tail for debt service)"),
              Column("risk", description="probability of crossing the scenario's risk threshold ± 1 SE")]
COMPARISON_COLUMNS = [Column("metric"), Column("scenario"), Column("status"),
                      Column("shown", description="portfolio mean, in its unit"),
                      Column("delta_shown", description="to the base case, % of |base|"),
                      Column("robust_z", "float", description="modified z (median absolute deviation) among scenarios"),
                      Column("outlier", "bool", description="|robust z| > 3.5"),
                      Column("expected", description="the scenario's expected range for this metric, and the verdict")]


@dg.asset(kinds={"python", "docker"}, partitions_def=request_scenario_partitions, pool=SANDBOX_POOL,
          deps=[dg.AssetDep(generated_script, partition_mapping=BY_REQUEST)], group_name=GROUP,
          owners=["team:platform"], tags=TAGS, backfill_policy=dg.BackfillPolicy.multi_run(1))
def scenario_run(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                 script_factory: ScriptFactoryResource) -> dg.MaterializeResult:
    """The request's validated script re-run in the sandbox on the scenario's world (the
    portfolio with the scenario's drivers applied), ``repeat`` times; then the scenario's
    statistics: Monte Carlo (per property and portfolio: mean, p5/p50/p95, CVaR, the risk
    probability ± its standard error, a convergence note), a tornado, Sobol indices, pass^k.
    A run the policy refuses is ``outcome=refused``, not a failed step."""
    keys = context.partition_key.keys_by_dimension
    sandbox = script_factory.sandbox
    try:  # an unknown scenario or an unplanned request: the sentence, not a traceback
        scenario = catalog.get(ops_db.engine, keys["scenario"])
        out = runner.run_scenario(ops_db.engine, keys["request"], scenario, sandbox.get_runner(),
                                  places=script_factory.places(), limits=sandbox.limits(),
                                  dagster_run_id=context.run.run_id,
                                  on_output=lambda stream, line: context.log.debug(f"[{stream}] {line}"),
                                  allow_weak_isolation=sandbox.weak_isolation_allowed())
    except MetaAgentError as exc:
        raise dg.Failure(description=str(exc)) from exc
    context.log.info(out.message)
    scalars, markdown = present.scenario_run_metadata(out)
    meta = {**scalars, **{k: dg.MetadataValue.md(v) for k, v in markdown.items()}}
    meta["values"] = table(present.value_rows(out), VALUE_COLUMNS)
    if out.monte_carlo:
        meta["monte_carlo"] = table(present.monte_carlo_rows(out), MC_COLUMNS)
    if out.status == "failed":
        raise dg.Failure(description=out.message, metadata=meta)
    return dg.MaterializeResult(metadata=meta)


@dg.asset(kinds={"python"}, partitions_def=script_request_partitions,
          deps=[dg.AssetDep(scenario_run, partition_mapping=BY_REQUEST)], group_name=GROUP, owners=["team:platform"],
          tags=TAGS)
def scenario_comparison(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                        script_factory: ScriptFactoryResource) -> dg.MaterializeResult:
    """Every scenario of the request side by side: the portfolio figures, the delta to the base
    case, robust-z outliers (median absolute deviation), the expected ranges each broke, and
    charts inline — the distribution per scenario, the tornado, the Monte Carlo fan."""
    report = present.comparison(context.partition_key, runner.outcomes_for(ops_db.engine, context.partition_key),
                                script_factory.places().runs_dir.parent / "simulations")
    context.log.info(report.sentence)
    meta = {**report.metadata, "comparison": table(report.rows, COMPARISON_COLUMNS),
            "report": dg.MetadataValue.path(str(report.path))}
    meta.update({k: dg.MetadataValue.md(v) for k, v in report.markdown.items()})
    meta["outliers_and_ranges"] = dg.MetadataValue.md(report.findings_md)
    meta["details"] = dg.MetadataValue.json(json.loads(json.dumps(report.summary, default=str)))
    return dg.MaterializeResult(metadata=meta)


ASSETS = [scenario_run, scenario_comparison]
