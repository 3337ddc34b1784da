"""Demo step: evaluation — the ``evaluation_daily`` job over the last week (scores, failure
embeddings, clusters and root causes, one run), the ``evaluation_weekly`` job for the weeks it
touches, then: each injected incident against the finding that explains it (category and
evidence), the fleet's failure clusters, the worst agent's report as a manager reads it, and
the failures most similar to one from the outage."""

from __future__ import annotations

from datetime import timedelta

from meta_agent import config
from meta_agent.cli.output import table
from meta_agent.evaluation import pipeline, present, similarity
from meta_agent.evaluation import repository as repo
from meta_agent.fleet import default_incidents, fleet
from meta_agent.fleet.incidents import Incident
from meta_agent.llm import get_gateway, load_config
from meta_agent.store.engine import engine_for
from meta_agent_demo.context import DemoContext
from meta_agent_demo.jobs import run_job

# the root-cause category each injected incident is (meta_agent.fleet.incidents)
EXPECTED_CATEGORY = {"latency_regression": "prompt", "new_error_type": "tool", "cost_spike": "context",
                     "outage": "external"}


def match_findings(incidents: list[Incident], findings: list[dict]) -> list[dict]:
    """For each incident, the strongest finding on its agent from its day on, and whether its
    category is the one the incident is."""
    out = []
    for inc in incidents:
        mine = [f for f in findings if inc.agent_id in (f["agents"] or [f["agent_id"]])
                and f["started_at"] is not None and f["started_at"].date() >= inc.day - timedelta(days=1)]
        right = [f for f in mine if f["category"] == EXPECTED_CATEGORY[inc.kind]]
        best = max(right or mine, key=lambda f: f["confidence"], default=None)
        out.append({"incident": inc.describe(), "kind": inc.kind, "agent_id": inc.agent_id,
                    "expected": EXPECTED_CATEGORY[inc.kind], "found": bool(right),
                    "category": best["category"] if best else None,
                    "confidence": best["confidence"] if best else None,
                    "finding": best["description"] if best else None,
                    "evidence": present.finding_rows([best])[0]["evidence"] if best else None,
                    "first_bad_execution_id": best["first_bad_execution_id"] if best else None})
    return out


def run(ctx: DemoContext) -> None:
    o = ctx.options
    first = max(o.start, o.end - timedelta(days=pipeline.WINDOW_DAYS - 1))
    run_job(ctx, "evaluation_daily", f"evaluation_daily: score, embed, cluster and explain {first}..{o.end}",
            partition_range=(first.isoformat(), o.end.isoformat()))
    weeks = sorted({(d - timedelta(days=d.weekday())).isoformat()
                    for d in (first + timedelta(days=i) for i in range((o.end - first).days + 1))})
    for week in weeks:
        run_job(ctx, "evaluation_weekly", f"evaluation_weekly: agent reports for the week of {week}", partition_key=week)

    url = config.db_url()
    engine = engine_for(url)
    with engine.connect() as conn:
        findings = repo.findings_between(conn, first, o.end)
        clusters = repo.clusters_of(conn, o.end)
    incidents = default_incidents([p.agent_id for p in fleet(o.agents)], o.end, o.days)
    matched = match_findings(incidents, findings)

    gateway = get_gateway(load_config(None), db_url=url)
    worst = _worst_report(url, first, o.end, gateway)
    outage = next((m for m in matched if m["kind"] == "outage" and m["first_bad_execution_id"]), None)
    near = None
    if outage:
        near = present.similar_payload(similarity.similar(
            url, execution_id=outage["first_bad_execution_id"], k=5, gateway=gateway,
            index_dir=config.artifacts_dir().joinpath(*pipeline.INDEX_DIR)))

    ctx.summary["evaluation"] = {
        "window": [first, o.end], "weeks": weeks, "findings": len(findings), "clusters": len(clusters),
        "incidents": matched, "incidents_explained": sum(m["found"] for m in matched),
        "worst_agent": None if worst is None else {
            "agent_id": worst.agent_id, "overall": worst.report.overall, "risk": worst.report.risk_level,
            "summary": worst.narrative.text, "recommendations": [r.text for r in worst.report.recommendations],
            "html": str(worst.html_path)},
        "similar_to_outage": near,
    }
    ctx.sections.append(table(
        f"root causes of the injected incidents ({sum(m['found'] for m in matched)} of {len(matched)} with the right "
        f"category; {len(findings)} findings in {first}..{o.end})",
        ["incident", "expected", "finding", "confidence", "evidence"],
        [(m["incident"], m["expected"], f"{m['category'] or 'NOT FOUND'}: {m['finding'] or ''}",
          "" if m["confidence"] is None else f"{m['confidence']:.0%}", m["evidence"] or "") for m in matched]))
    ctx.sections.append(table(
        f"failure clusters of the fleet, window ending {o.end} (largest first)",
        ["cluster", "size", "trend", "agents", "label"],
        [(r["cluster"], r["size"], r["trend"], r["agents"], r["label"]) for r in present.cluster_rows(clusters[:8])]))
    if worst is not None:
        rec = worst.report.recommendations
        ctx.sections.append(table(
            f"evaluation report of the worst agent, {worst.agent_id}: {worst.report.overall:.0f}/100, "
            f"{worst.report.risk_level} risk ({first}..{o.end} vs the week before)",
            ["what"], [(worst.narrative.text,), *((f"→ {r.text}",) for r in rec[:4])]))
        ctx.next_steps.append(f"meta-agent eval report {worst.agent_id} --from {first} --to {o.end}  "
                              f"(HTML: {worst.html_path})")
    if near and near["failures"]:
        ctx.sections.append(table(
            f"failures most similar to the outage's first bad execution {outage['first_bad_execution_id']}",
            ["execution", "agent", "similarity", "signature"],
            [(f["execution_id"], f["agent_id"], f"{f['similarity']:.3f}", f["signature"][:90]) for f in near["failures"]]))
    ctx.next_steps.append(f"meta-agent eval rootcause --from {first} --to {o.end}")
    ctx.next_steps.append(f"meta-agent eval clusters --from {o.end} --to {o.end} --json")


def _worst_report(url, first, last, gateway):
    """The lowest-scoring agent's report for the window (every agent's built on demand and
    stored as a version, as the weekly asset does for a week)."""
    return pipeline.report_week(url, first, last, gateway=gateway, sla_file=config.config_dir() / pipeline.SLA_FILE,
                                out_dir=config.artifacts_dir() / "evaluation" / "reports" / "demo").worst
