"""Script factory assets, one partition per request: plan -> script -> run.

A request becomes a ``script_requests`` partition (the sensor adds it); each asset calls one
step of ``meta_agent.scriptgen.factory``, which rewrites that request's row in its table. A
request the planner refuses is a correct outcome, not a failure: ``script_plan``
materializes with ``outcome=refused`` (and the closest tools), and the script and run are
skipped. ``script_is_valid`` (checks.py) blocks the run of an invalid script.
"""

from collections.abc import Iterator

import dagster as dg

from meta_agent.reporting import markdown_table
from meta_agent.scriptgen import factory, present
from meta_agent.scriptgen import repository as repo
from meta_agent_defs.partitions import script_request_partitions
from meta_agent_defs.resources import OpsDatabase, ScriptFactoryResource

GROUP = "script_factory"
SANDBOX_POOL = "sandbox"  # generated scripts running at once, across runs (dagster.yaml: concurrency.pools)
COMMON = {"group_name": GROUP, "partitions_def": script_request_partitions, "owners": ["team:platform"],
          "tags": {"meta_agent/capability": "script_factory"}}


def _request(ops_db: OpsDatabase, request_id: str) -> dict:
    with ops_db.engine.connect() as conn:
        return repo.get_request(conn, request_id)


@dg.asset(kinds={"python"}, **COMMON)
def script_plan(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                script_factory: ScriptFactoryResource) -> dg.MaterializeResult:
    """The request in plain English turned into a plan: goal, figures, parameters, ordered tool
    steps, outputs — or a refusal naming the closest tools (outcome ``refused``)."""
    req = _request(ops_db, context.partition_key)
    planner = script_factory.get_planner((req.get("metadata") or {}).get("planner"))
    outcome = factory.plan_request(ops_db.engine, context.partition_key, planner)
    meta = {"outcome": "planned" if outcome.ok else "refused", "planner": planner.name,
            "request": dg.MetadataValue.md(present.request_markdown(req)),
            "plan": dg.MetadataValue.md(present.plan_markdown(outcome)), "planning_ms": round(outcome.duration_ms, 2)}
    if not outcome.ok:
        context.log.info(f"refused: {outcome.refusal.message()}")
        return dg.MaterializeResult(metadata={**meta, "closest_tools": ", ".join(
            t.name for t in outcome.refusal.closest_tools)})
    r = outcome.requirements
    return dg.MaterializeResult(metadata={**meta, "template": r.template, "tools": ", ".join(r.tools),
                                          "fingerprint": r.fingerprint(),
                                          "parameters": dg.MetadataValue.json(r.script_params())})


@dg.asset(kinds={"python"}, deps=[script_plan], output_required=False, **COMMON)
def generated_script(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                     script_factory: ScriptFactoryResource) -> Iterator[dg.MaterializeResult]:
    """The script for the plan: the library's script for the same shape when there is one
    (reused with this request's parameters), else rendered from the templates (or written by
    the model); validated against the allowlists. Skipped for a refused request."""
    if _request(ops_db, context.partition_key)["status"] == "refused":
        context.log.info("the request was refused at planning: no script to generate")
        return
    gen = factory.generate_script(ops_db.engine, context.partition_key, places=script_factory.places(),
                                  author=script_factory.author.value, writer=script_factory.script_writer())
    with ops_db.engine.connect() as conn:
        reuse = repo.reuse_stats(conn)
    yield dg.MaterializeResult(metadata={
        "valid": gen.valid, "reused": gen.reused, "reused_from": gen.reused_from or "", "message": gen.message,
        "script": dg.MetadataValue.md(present.script_markdown(gen.source)),
        "validation": dg.MetadataValue.md(present.validation_markdown(gen.report)),
        "script_id": gen.script_id, "author": gen.author, "template": gen.template,
        "path": dg.MetadataValue.path(gen.path), "generation_ms": round(gen.duration_ms, 2),
        "library_reuse_rate": reuse["reuse_rate"]})


@dg.asset(kinds={"python", "docker"}, deps=[generated_script], pool=SANDBOX_POOL, **COMMON)
def script_run(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
               script_factory: ScriptFactoryResource) -> dg.MaterializeResult:
    """The validated script run in the sandbox (a container, or the local fallback — the
    metadata says which): status, output files, and the key figures from its result.json.
    At most as many run at once as the ``sandbox`` pool allows. The run policy decides first
    (provenance × runner, meta_agent.sandbox.policy): a model-written script under local:rlimits
    is refused — ``outcome=refused`` with the sentence, not a failed step — unless weak
    isolation is allowed (the sandbox resource, or the request's --allow-weak-isolation)."""
    sandbox = script_factory.sandbox
    run = factory.run_script(ops_db.engine, context.partition_key, sandbox.get_runner(),
                             places=script_factory.places(), limits=sandbox.limits(), dagster_run_id=context.run.run_id,
                             on_output=lambda stream, line: context.log.debug(f"[{stream}] {line}"),
                             allow_weak_isolation=sandbox.weak_isolation_allowed())
    policy = run.policy or {}
    context.log.info(f"run policy: {run.provenance} script × {run.runner}: "
                     f"{'allowed' if policy.get('allowed') else 'refused'}"
                     f"{' (override used)' if policy.get('override_used') else ''}; guard {'on' if run.guard else 'off'}")
    meta = {"outcome": "refused" if run.refused else "ran", "provenance": run.provenance,
            "allowed": bool(policy.get("allowed")), "override_used": bool(policy.get("override_used")),
            "guard": run.guard, "policy": policy.get("reason", ""),
            "status": run.status, "message": run.message, "runner": run.runner, "isolation": run.isolation}
    if run.refused:  # nothing ran: no results, outputs or figures
        return dg.MaterializeResult(metadata=meta)
    meta |= {"duration_s": round(run.duration_s, 3), "exit_code": run.exit_code if run.exit_code is not None else -1,
             "results_dir": dg.MetadataValue.path(run.results_dir),
             "outputs": dg.MetadataValue.md(present.outputs_markdown(run.outputs, run.results_dir)),
             "key_figures": dg.MetadataValue.md(markdown_table(present.key_figures_rows(run.result))),
             "values": dg.MetadataValue.md(present.values_markdown(run.result))}
    if not run.ok:
        raise dg.Failure(description=run.message, metadata={**meta, "stderr": dg.MetadataValue.text(run.stderr_tail)})
    return dg.MaterializeResult(metadata=meta)


ASSETS = [script_plan, generated_script, script_run]
