"""Script factory assets, one partition per request: plan -> script (+ validity check) -> run.

A request becomes a ``script_requests`` partition (the sensor adds it); each asset calls one
step of ``meta_agent.scriptgen.factory``, which rewrites that request's row in its table.
``script_is_valid`` is a blocking check: an invalid script is never run.
"""

import dagster as dg

from meta_agent.reporting import markdown_table
from meta_agent.scriptgen import factory, present
from meta_agent.scriptgen import repository as repo
from meta_agent_defs.jobs.script_factory import script_factory_job
from meta_agent_defs.partitions import script_request_partitions
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.resources.script_factory import ScriptFactoryResource
from meta_agent_defs.sensors.script_requests import script_request_sensor

GROUP = "script_factory"
SCRIPT_IS_VALID = "script_is_valid"
COMMON = {"group_name": GROUP, "partitions_def": script_request_partitions, "owners": ["team:platform"],
          "tags": {"meta_agent/capability": "script_factory"}}


@dg.asset(kinds={"python"}, **COMMON)
def script_plan(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                script_factory: ScriptFactoryResource) -> dg.MaterializeResult:
    """The request in plain English turned into a plan: goal, figures, parameters, ordered tool
    steps, outputs. A request the planner cannot plan fails here, naming the closest tools."""
    rid = context.partition_key
    outcome = factory.plan_request(ops_db.engine, rid, script_factory.get_planner())
    with ops_db.engine.connect() as conn:
        req = repo.get_request(conn, rid)
    meta = {"request": dg.MetadataValue.md(present.request_markdown(req)),
            "plan": dg.MetadataValue.md(present.plan_markdown(outcome)),
            "planned": outcome.ok, "planning_ms": round(outcome.duration_ms, 2)}
    if not outcome.ok:
        raise dg.Failure(description=outcome.refusal.message(), metadata=meta)
    r = outcome.requirements
    return dg.MaterializeResult(metadata={**meta, "planner": r.planner, "template": r.template,
                                          "tools": dg.MetadataValue.json(r.tools), "fingerprint": r.fingerprint(),
                                          "parameters": dg.MetadataValue.json(r.script_params())})


@dg.asset(kinds={"python"}, deps=[script_plan],
          check_specs=[dg.AssetCheckSpec(SCRIPT_IS_VALID, asset="generated_script", blocking=True,
                                         description="AST, allowlists, file access, bandit and secrets")],
          **COMMON)
def generated_script(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                     script_factory: ScriptFactoryResource) -> dg.MaterializeResult:
    """The script for the plan: the library's script for the same shape when there is one
    (reused with this request's parameters), else rendered from the templates; validated."""
    gen = factory.generate_script(ops_db.engine, context.partition_key, author=script_factory.author)
    with ops_db.engine.connect() as conn:
        reuse = repo.reuse_stats(conn)
    check = dg.AssetCheckResult(
        check_name=SCRIPT_IS_VALID, passed=gen.valid, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"errors": len(gen.report.errors), "rules": dg.MetadataValue.json(sorted(gen.report.rules)),
                  "findings": dg.MetadataValue.md(present.validation_markdown(gen.report))})
    return dg.MaterializeResult(check_results=[check], metadata={
        "script": dg.MetadataValue.md(present.script_markdown(gen.source)),
        "validation": dg.MetadataValue.md(present.validation_markdown(gen.report)),
        "valid": gen.valid, "reused": gen.reused, "reused_from": gen.reused_from or "",
        "message": gen.message, "script_id": gen.script_id, "author": gen.author, "template": gen.template,
        "path": dg.MetadataValue.path(gen.path), "generation_ms": round(gen.duration_ms, 2),
        "library_reuse_rate": reuse["reuse_rate"], "library": dg.MetadataValue.json(reuse)})


@dg.asset(kinds={"python"}, deps=[generated_script], **COMMON)
def script_run(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
               script_factory: ScriptFactoryResource) -> dg.MaterializeResult:
    """The validated script run in the sandbox (container, or the local fallback — the metadata
    says which): status, output files, and the key figures from its result.json."""
    run = factory.run_script(ops_db.engine, context.partition_key, script_factory.get_runner(),
                             limits=script_factory.limits(), dagster_run_id=context.run.run_id,
                             on_output=lambda stream, line: context.log.debug(f"[{stream}] {line}"))
    meta = {"status": run.status, "message": run.message, "runner": run.runner, "isolation": run.isolation,
            "duration_s": round(run.duration_s, 3), "exit_code": run.exit_code if run.exit_code is not None else -1,
            "results_dir": dg.MetadataValue.path(run.results_dir),
            "outputs": dg.MetadataValue.md(present.outputs_markdown(run.outputs, run.results_dir)),
            "key_figures": dg.MetadataValue.md(markdown_table(present.key_figures_rows(run.result))),
            "values": dg.MetadataValue.md(present.values_markdown(run.result)),
            "result_json": dg.MetadataValue.json(run.key_figures())}
    if not run.ok:
        raise dg.Failure(description=run.message, metadata={**meta, "stderr": dg.MetadataValue.text(run.stderr_tail)})
    return dg.MaterializeResult(metadata=meta)


SCRIPT_FACTORY_ASSETS = [script_plan, generated_script, script_run]

defs = dg.Definitions(assets=SCRIPT_FACTORY_ASSETS, jobs=[script_factory_job], sensors=[script_request_sensor],
                      resources={"script_factory": ScriptFactoryResource()})
