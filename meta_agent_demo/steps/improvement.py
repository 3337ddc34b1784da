"""Demo step: improvement — the fleet's prompts go into the registry (production at the
version each agent runs now), the ``improvement_daily`` job turns the last day's findings into
proposals and applies the auto-approval rules, then a person approves the top proposal the
rules left waiting (the ``proposal_decision`` job, as from the Launchpad) and the
``apply_approved_proposals`` job (what the sensor requests) turns approved prompt changes into
``candidate`` versions. Shown: each incident's proposal with its expected effect, what was
auto-approved and what waits for a person."""

from __future__ import annotations

from meta_agent import config
from meta_agent.cli.output import table
from meta_agent.fleet import default_incidents, fleet
from meta_agent.fleet import prompts as fleet_prompts
from meta_agent.fleet.incidents import Incident
from meta_agent.improvement import pipeline, present, workflow
from meta_agent.store.engine import engine_for
from meta_agent_demo.context import DemoContext
from meta_agent_demo.jobs import run_job

# the proposal kinds that answer each injected incident (meta_agent.improvement.proposals)
EXPECTED_KINDS = {"latency_regression": ("prompt_rollback",), "new_error_type": ("tool_change",),
                  "cost_spike": ("config_change", "prompt_change"), "outage": ("config_change",)}
DEMO_REVIEWER = "demo-reviewer"


def match_proposals(incidents: list[Incident], rows: list[dict]) -> list[dict]:
    """For each incident, the highest-priority proposal of an expected kind on its agent."""
    out = []
    for inc in incidents:
        mine = [r for r in rows if inc.agent_id in (r["agents"] or [r["agent_id"]])]
        right = [r for r in mine if r["kind"] in EXPECTED_KINDS[inc.kind]]
        best = max(right, key=lambda r: r["priority"], default=None)
        out.append({"incident": inc.describe(), "kind": inc.kind, "agent_id": inc.agent_id,
                    "expected_kinds": list(EXPECTED_KINDS[inc.kind]), "found": best is not None,
                    "proposal_id": best["proposal_id"] if best else None,
                    "proposal_kind": best["kind"] if best else None, "title": best["title"] if best else None,
                    "expected": present.expected_text(best["expected"]) if best else None,
                    "risk": best["risk"] if best else None, "state": best["state"] if best else None})
    return out


def run(ctx: DemoContext) -> None:
    o = ctx.options
    url = config.db_url()
    engine = engine_for(url)
    with engine.begin() as conn:  # the prompts the fleet ran with; production = what each runs now
        versions, latest = fleet_prompts.observed_versions(conn)
        fleet_prompts.seed_registry(conn, versions, production=latest)
    day = o.end.isoformat()
    run_job(ctx, "improvement_daily", f"improvement_daily: proposals, auto-approvals and learnings for {day}",
            partition_key=day)
    with engine.connect() as conn:
        before = workflow.list_proposals(conn, limit=10_000)
    waiting = [r for r in before if r["state"] == "proposed"]
    decided = None
    if waiting:  # a person takes the top one, through the Launchpad job's typed config
        top = max(waiting, key=lambda r: r["priority"])
        run_job(ctx, "proposal_decision", f"proposal_decision: {DEMO_REVIEWER} approves {top['proposal_id']}",
                run_config={"ops": {"decide_proposal": {"config": {
                    "proposal_id": top["proposal_id"], "decision": "approve", "reviewer": DEMO_REVIEWER,
                    "reason": "reviewed in the demo: the evidence and the rollback plan hold"}}}})
        decided = top["proposal_id"]
    pending = [p["proposal_id"] for p in pipeline.pending_application(url)]
    if pending:  # what the approved_proposals_sensor requests when the daemon runs
        run_job(ctx, "apply_approved_proposals", f"apply_approved_proposals: {len(pending)} approved proposals",
                run_config={"ops": {"apply_proposals": {"config": {"proposal_ids": pending}}}})
    with engine.connect() as conn:
        rows = workflow.list_proposals(conn, limit=10_000)
    incidents = default_incidents([p.agent_id for p in fleet(o.agents)], o.end, o.days)
    matched = match_proposals(incidents, rows)
    by_state: dict[str, int] = {}
    for r in rows:
        by_state[r["state"]] = by_state.get(r["state"], 0) + 1
    auto = [r for r in rows if any(e["actor"].startswith("auto:") and e["to_state"] == "approved" for e in r["events"])]
    ctx.summary["improvement"] = {
        "day": o.end, "proposals": len(rows), "by_state": by_state, "incidents": matched,
        "incidents_with_proposal": sum(m["found"] for m in matched), "approved_by_person": decided,
        "applied": pending, "auto_approved": [r["proposal_id"] for r in auto],
        "waiting_for_a_person": [r["proposal_id"] for r in rows if r["state"] == "proposed"]}
    ctx.sections.append(table(
        f"proposals for the injected incidents ({sum(m['found'] for m in matched)} of {len(matched)} answered; "
        f"{len(rows)} proposals on {day})",
        ["incident", "proposal", "expected effect (95 % CI)", "risk", "state"],
        [(m["incident"], f"{m['proposal_kind'] or 'NONE'}: {m['title'] or ''}", m["expected"] or "", m["risk"] or "",
          m["state"] or "") for m in matched]))
    decided_by = {r["proposal_id"]: next((e["actor"] for e in r["events"]
                                          if (e["from_state"], e["to_state"]) == ("proposed", "approved")), "")
                  for r in rows}
    ctx.sections.append(table(
        "every proposal, highest priority first: approved by a rule (auto:…) or a person, or waiting",
        ["proposal", "state", "by", "kind", "agent", "risk", "blast radius", "expected"],
        [(r["proposal"], r["state"], decided_by.get(r["proposal"], ""), r["kind"], r["agent"], r["risk"],
          r["blast_radius"], r["expected"]) for r in present.proposal_rows(rows)[:12]]))
    if rows:
        top = max(rows, key=lambda r: r["priority"])
        ctx.next_steps.append(f"meta-agent proposals show {top['proposal_id']}")
    ctx.next_steps.append("meta-agent proposals list --state proposed  (what waits for a person)")
    ctx.next_steps.append("meta-agent prompts list")
