"""The blocking check of the script factory: an invalid script is never run."""

import dagster as dg

from meta_agent.reporting import markdown_table
from meta_agent.scriptgen import factory
from meta_agent_defs.partitions import script_request_partitions
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.script_factory.assets import generated_script


@dg.asset_check(asset=generated_script, blocking=True, partitions_def=script_request_partitions,
                description="The script passed the validator: every construct on the script language's lists "
                            "(meta_agent/tools/language.py), registered tools, no secrets. Blocking: script_run "
                            "does not start otherwise.")
def script_is_valid(context: dg.AssetCheckExecutionContext, ops_db: OpsDatabase) -> dg.AssetCheckResult:
    with ops_db.engine.connect() as conn:
        gen, script = factory.stored_generation(conn, context.op_execution_context.partition_key)
    errors = (script.get("validation") or {}).get("errors", [])
    return dg.AssetCheckResult(
        passed=bool(gen["valid"]), severity=dg.AssetCheckSeverity.ERROR,
        description=f"script {gen['script_id']}: " + ("valid" if gen["valid"] else f"{len(errors)} error(s)"),
        metadata={"errors": len(errors), "rules": ", ".join(sorted({e["rule"] for e in errors})),
                  "findings": dg.MetadataValue.md(markdown_table(
                      [{"line": e["line"], "rule": e["rule"], "message": e["message"], "fix": e.get("fix", "")}
                       for e in errors])
                      if errors else "_none_")})


CHECKS = [script_is_valid]
