"""Demo step: isolation — which runner scripts get here and how strong it is (fast).

Builds the local sandbox image when an engine answers and the image is missing (a 20 KB
import), then runs ``isolation_probe_job``: a probe script through the chosen runner.
Says plainly when isolation is the weaker local kind. Then the script language: a script a
model might write that steps outside it, and what the validator says of each construct.
"""

from __future__ import annotations

from meta_agent.cli.output import table
from meta_agent.errors import ConfigError
from meta_agent.sandbox.doctor import diagnose
from meta_agent.sandbox.engine import connect
from meta_agent.sandbox.images import build_local_image, default_image, image_info
from meta_agent.sandbox.policy import PROVENANCES, decide
from meta_agent.scriptgen.validator import validate_script
from meta_agent_demo.context import DemoContext
from meta_agent_demo.jobs import materialization_metadata, run_job

# Three holes a red team found in the old validator, in one script: a module hop, a
# format-string walk and a path that leaves the results directory.
OUTSIDE_THE_LANGUAGE = '''"""DSCR, as a model might write it."""

from uuid import os

from meta_agent.tools import call_tool, run_script


def run(params, result):
    rows = call_tool("fetch_financial_data", year=params.get("year"))
    result["notes"].append("{0.gi_frame.f_back.f_locals}".format(params))
    call_tool("export_to_csv", data=rows, path="../../etc/cron.d/x.csv")
    os.system("id")
    return rows, None


run_script(run)
'''


def _ensure_image() -> str | None:
    try:
        engine = connect()
    except ConfigError:
        return None
    if image_info(engine.client, default_image()) is None and default_image().endswith(":local"):
        res = build_local_image(engine.client, default_image())
        return f"built the local sandbox image {res.image} in {res.seconds} s"
    return None


def run(ctx: DemoContext) -> None:
    built = _ensure_image()
    if built:
        ctx.note(built)
    rep = diagnose(probe=False)
    result = run_job(ctx, "isolation_probe_job", "isolation_probe_job: a script through the sandbox runner")
    md = materialization_metadata(result, "sandbox_probe")[0]
    eng = rep["engine"]
    summary = {
        "runner": md["runner"],
        "isolation": md["isolation"],
        "weaker": md["isolation"] != "container",
        "strength": md["strength"],
        "engine": f"{eng.get('name')} {eng.get('version')}" if eng["answers"] else None,
        "image": rep["image"]["name"] if rep["image"]["present"] else None,
        "run_executes_in": md["run_executes_in"],
        "image_built": bool(built),
        # what the run policy lets each provenance do under this runner (meta_agent.sandbox.policy)
        "policy": {p: "runs" if decide(p, md["runner"]).allowed else "refused" for p in PROVENANCES},
    }
    ctx.summary["isolation"] = summary
    rows = [["runner", summary["runner"]], ["isolation", summary["strength"]],
            ["container engine", summary["engine"] or "none answers (DOCKER_HOST)"],
            ["sandbox image", summary["image"] or "not available"],
            ["run policy", "; ".join(f"{p} scripts: {v}" for p, v in summary["policy"].items())
             + ("" if all(v == "runs" for v in summary["policy"].values())
                else " (--allow-weak-isolation / META_AGENT_ALLOW_WEAK_ISOLATION=true runs them)")]]
    ctx.sections.append(table("isolation: where generated scripts run", ["check", "result"], rows))
    if summary["weaker"]:
        ctx.sections.append("[bold yellow]Isolation is the weaker local kind here:[/] scripts run as local "
                            "processes, not containers. `export DOCKER_HOST=$(scripts/container-engine.sh)` "
                            "and `meta-agent sandbox build-image` give each script its own container.")
        ctx.next_steps.append("meta-agent sandbox doctor  (how to get container isolation on this machine)")
    language_section(ctx)


def language_section(ctx: DemoContext) -> None:
    """What the validator says of a script that steps outside the script language."""
    report = validate_script(OUTSIDE_THE_LANGUAGE)
    ctx.summary["script_language"] = {"valid": report.valid, "rules": sorted(report.rules),
                                      "duration_ms": round(report.duration_ms, 1)}
    rows = [[f.line, f.rule, f.message, f.fix] for f in report.errors]
    ctx.sections.append(table(f"script language: a model-style script outside it is {report.summary()} "
                              "(meta_agent/tools/language.py)", ["line", "rule", "finding", "fix"], rows))
