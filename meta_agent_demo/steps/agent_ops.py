"""Demo step 2: the ``agent_ops_daily`` job over the demo window (one run for the whole range:
the log observed, the registry refreshed, each day validated, aggregated and SLA-checked with
its own verdicts), the ``sla_reports`` job, then the latest day's SLA table and which
injected incident each breach belongs to."""

from __future__ import annotations

from meta_agent import config
from meta_agent.cli.output import table
from meta_agent.fleet import default_incidents, fleet
from meta_agent.fleet.incidents import Incident
from meta_agent.ops import sla
from meta_agent.ops.verdicts import describe_evaluation
from meta_agent.store.engine import engine_for
from meta_agent_demo.context import DemoContext
from meta_agent_demo.jobs import materialization_metadata, run_job

# which SLA metric each kind of incident should break
EXPECTED = {
    "outage": ("min_success_rate",),
    "new_error_type": ("min_success_rate",),
    "latency_regression": ("max_latency_p95_ms", "max_latency_p99_ms"),
    "cost_spike": ("max_daily_cost_usd",),
}


def match_incidents(incidents: list[Incident], evaluations: list[dict]) -> list[dict]:
    """For each incident, the breaches it should cause (its agent, its metrics, its days)."""
    out = []
    for inc in incidents:
        hits = [r for r in evaluations if r["status"] == "breach" and r["agent_id"] == inc.agent_id
                and r["metric"] in EXPECTED[inc.kind] and inc.active(r["day"])]
        worst = max(hits, key=lambda r: r["consumed"], default=None)
        out.append({"incident": inc.describe(), "kind": inc.kind, "agent_id": inc.agent_id,
                    "found": bool(hits), "breach_days": sorted({r["day"].isoformat() for r in hits}),
                    "metrics": sorted({r["metric"] for r in hits}),
                    "worst": describe_evaluation(worst) if worst else None})
    return out


def run(ctx: DemoContext) -> None:
    o = ctx.options
    run_job(ctx, "agent_ops_daily", "agent_ops_daily: validate + aggregate + SLA-check the window",
            partition_range=(o.start.isoformat(), o.end.isoformat()))
    reports = run_job(ctx, "sla_reports", "sla_reports: weekly + monthly SLA reports")
    charts = [m["chart_file"] for a in ("sla_report_weekly", "sla_report_monthly")
              for m in materialization_metadata(reports, a)]

    with engine_for(config.db_url()).connect() as conn:
        latest = sla.evaluations_for_day(conn, o.end)
        window = sla.evaluations_between(conn, o.start, o.end)
    incidents = default_incidents([p.agent_id for p in fleet(o.agents)], o.end, o.days)
    found = match_incidents(incidents, window)
    explained = {(r["agent_id"], r["day"], r["metric"]) for r in window for f in found
                 if f["found"] and r["agent_id"] == f["agent_id"] and r["day"].isoformat() in f["breach_days"]
                 and r["metric"] in f["metrics"]}
    other = [r for r in window if r["status"] == "breach" and (r["agent_id"], r["day"], r["metric"]) not in explained]

    counts = {s: sum(r["status"] == s for r in window) for s in ("ok", "warn", "breach")}
    ctx.summary["agent_ops"] = {
        "window": [o.start.isoformat(), o.end.isoformat()],
        "evaluations": counts,
        "latest_day": {"day": o.end.isoformat(), "grid": sla.status_grid(latest)},
        "incidents": found,
        "incidents_found": sum(f["found"] for f in found),
        "other_breaches": [describe_evaluation(r) + f" on {r['day']}" for r in other],
        "charts": charts,
    }
    grid = sla.status_grid(latest)
    cols = ["agent", "success", "p95", "p99", "cost", "human"]
    ctx.sections.append(table(f"SLA on {o.end} (UTC), % of error budget used — WARN ≥ 80 %, BREACH > 100 %",
                              cols, [[g[c] for c in cols] for g in grid]))
    ctx.sections.append(table(
        f"incidents found by sla_compliance ({sum(f['found'] for f in found)} of {len(found)}); "
        f"{counts['breach']} breaches, {counts['warn']} warnings in {o.start} .. {o.end}",
        ["incident", "breached on", "worst breach"],
        [(f["incident"], ", ".join(f["breach_days"]) or "NOT FOUND", f["worst"] or "") for f in found]))
    if other:
        ctx.sections.append("[yellow]breaches not explained by an injected incident:[/]\n" +
                            "\n".join(f"  • {line}" for line in ctx.summary["agent_ops"]["other_breaches"]))
    ctx.sections.append("SLA trend charts (also on the report assets' pages): " + ", ".join(charts))
    ctx.next_steps.append(f"meta-agent sla status --date {o.end}   (and: meta-agent metrics show --date {o.end})")
