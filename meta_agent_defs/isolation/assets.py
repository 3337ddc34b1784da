"""Isolation: where this run executes and which sandbox runner its scripts get, proven by a
probe script run through that runner (kept in ``sandbox_runs``)."""

import dagster as dg

from meta_agent.sandbox.isolation_report import probe_and_record
from meta_agent_defs.metadata import Column, table
from meta_agent_defs.resources import OpsDatabase, SandboxResource

GROUP = "isolation"


@dg.asset(group_name=GROUP, owners=["team:platform"], kinds={"python", "docker"},
          tags={"meta_agent/capability": "isolation"})
def sandbox_probe(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                  sandbox: SandboxResource) -> dg.MaterializeResult:
    """Where this run executes (the host, or a DockerRunLauncher run container — decided by the
    container id in /proc/self/cgroup) and which sandbox runner scripts get here, proven by a
    probe script run through it (no network, its own uid), and what the run policy lets each
    provenance (template, llm, user) do under that runner."""
    rep = probe_and_record(ops_db.engine, sandbox.get_runner(), dagster_run_id=context.run.run_id,
                           allow_weak_isolation=sandbox.weak_isolation_allowed())
    where = rep["where"]
    place = f"run container {where['container_id'][:12]}" if where["in_container"] else "the host"
    context.log.info(f"run executes in {place} (hostname {where['hostname']}, pid {where['pid']}); "
                     f"scripts get {rep['runner']}")
    return dg.MaterializeResult(metadata={
        "run_executes_in": place,
        "in_container": where["in_container"],
        "container_id": where["container_id"] or "",
        "evidence": dg.MetadataValue.md("\n".join(f"- {e}" for e in where["evidence"] if "exists" not in e)
                                        or "- no container id in /proc/self/cgroup: this is the host"),
        "marker_files": ", ".join(where["markers"]) + (" (present, but not decisive: the host has them too)"
                                                       if where["markers"] and not where["in_container"] else ""),
        "hostname": where["hostname"],
        "runner": rep["runner"],
        "isolation": rep["isolation"],
        "strength": rep["strength"],
        "provenance_policy": table(
            [{"provenance": p, "runner": d["runner"], "allowed": d["allowed"], "override_used": d["override_used"],
              "reason": d["reason"]} for p, d in rep["decisions"].items()],
            [Column("provenance", description="who wrote the script: template, llm or user"), Column("runner"),
             Column("allowed", "bool"), Column("override_used", "bool",
                                               description="allowed only because of allow_weak_isolation"),
             Column("reason")]),
        "probe_provenance": (rep["policy"] or {}).get("provenance", ""),
        "probe": table([rep["probe"]], [Column("run_id"), Column("status"), Column("seconds", "float"),
                                        Column("network", description="what the probe script could reach"),
                                        Column("uid", description="the uid the script ran as"), Column("message")]),
    })


ASSETS = [sandbox_probe]
