"""Demo step: the script factory — requests in plain English -> plans -> validated scripts ->
sandboxed runs, each a ``script_factory_job`` run for its request's partition; one request
reuses the library script of an earlier one; one is refused (a correct outcome: its plan
says ``refused`` with the closest tools, the script and run are skipped)."""

from __future__ import annotations

from meta_agent import config, units
from meta_agent.cli.output import table
from meta_agent.portfolio import ensure_seeded
from meta_agent.scriptgen import factory
from meta_agent.scriptgen import repository as repo
from meta_agent.store.engine import engine_for
from meta_agent_defs.partitions import script_request_partitions
from meta_agent_demo.context import DemoContext
from meta_agent_demo.jobs import run_job

DEMO_REQUESTS = [
    "Calculate DSCR for all properties and export to Excel",
    "Compute the debt service coverage for P-003 and P-007 as an Excel file",  # same shape: reused
    "Which properties have a cap rate above 6.5% and a DSCR under 1.3? PDF report",
    "NPV of each property at an 8% discount rate, top 5",
    "Email the DSCR table to the CFO",  # no tool sends email: refused
]


def run(ctx: DemoContext) -> None:
    seeded = ensure_seeded()
    if seeded:
        ctx.note(f"portfolio seeded: {seeded['properties']} properties, {seeded['loans']} loans ({seeded['url']})")
    engine = engine_for(config.db_url())
    rows, generations = [], []
    for text in DEMO_REQUESTS:
        with engine.begin() as conn:
            rid = repo.submit_request(conn, text, source="demo")["request_id"]
        run_job(ctx, "script_factory_job", f"script_factory_job: {text[:48]}", partition_key=rid,
                dynamic_partitions=script_request_partitions.name)
        with engine.connect() as conn:
            d = factory.describe_request(conn, rid)
        rows.append(_row(d))
        if rows[-1]["policy"]:
            ctx.note(f"  {rid}: {rows[-1]['policy']}")
        if d["script"]:
            generations.append(d["script"]["reused"])
    with engine.connect() as conn:
        stats = repo.reuse_stats(conn)
    this_run = round(sum(generations) / len(generations), 4) if generations else 0.0
    ctx.summary["script_factory"] = {"requests": rows, "reuse_rate_this_demo": this_run, "library": stats}
    ctx.sections.append(table(
        f"script factory: {len(rows)} requests; reuse rate {this_run:.0%} in this demo "
        f"({stats['reuse_rate']:.0%} over {stats['generations']} generations so far)",
        ["request", "plan", "script", "run", "provenance × runner", "outputs / key figures"],
        [(r["text"], r["plan"], r["script"], r["run"], r["policy"], r["outputs"]) for r in rows]))
    ctx.next_steps.append('meta-agent request "Top 5 properties by NOI as Excel" --wait  (your own request)')


def _row(d: dict) -> dict:
    plan = d.get("plan") or {}
    script = d.get("script") or {}
    run = d.get("run") or {}
    if plan.get("status") == "refused":
        reason = plan["reason"].split(" (")[0].split(";")[0]
        plan_text = f"refused: {reason}; closest tools {', '.join(plan['closest_tools']) or 'none'}"
    else:
        steps = [t for t in plan.get("tools", []) if not t.startswith(("fetch_", "query_"))]
        plan_text = f"{plan.get('template')}: {' → '.join(steps)}"
    script_text = ""
    if script:
        script_text = ("valid" if script["valid"] else "INVALID") + \
            (f", reused from {script['reused_from']}" if script["reused"] else ", new")
    figures = []
    for m, v in (run.get("key_figures") or {}).items():
        if isinstance(v, dict) and v.get("count"):
            figures.append(f"{m} mean {units.number(v['mean'])} (n={v['count']})")
    outputs = ", ".join(o.rsplit("/", 1)[-1] for o in run.get("outputs", []))
    pol = run.get("policy") or {}
    return {"request_id": d["request_id"], "text": d["text"], "status": d["status"], "plan": plan_text,
            "script": script_text, "run": f"{run.get('status', '')} ({run.get('runner', '')})" if run else "",
            "tools": plan.get("tools", []),
            "outputs": "; ".join(x for x in (outputs, ", ".join(figures)) if x),
            "results_dir": run.get("results_dir"), "policy": policy_line(pol)}


def policy_line(pol: dict) -> str:
    """``template × container:podman 4.3.1 → allowed, guard on`` — the run policy's decision."""
    if not pol:
        return ""
    verdict = "allowed" if pol.get("allowed") else "refused"
    if pol.get("override_used"):
        verdict += " (override: allow weak isolation)"
    return f"{pol.get('provenance')} × {pol.get('runner')} → {verdict}, guard {'on' if pol.get('guard') else 'off'}"
