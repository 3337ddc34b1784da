"""Jobs and schedules of improvement.

- ``improvement_daily``: proposals, decisions and the knowledge base of a day (or a range: one
  run) with their checks; its schedule runs yesterday's partition at 05:00 UTC, after the
  03:00 evaluation run has stored the day's findings.
- ``proposal_decision``: a person approves or rejects one proposal from the Launchpad — a
  typed config (proposal id, decision, reviewer, reason) handed to ``workflow.decide``, the
  same function `meta-agent proposals approve|reject` calls; a bad id, a wrong state or a
  missing reason fails the run with the message and changes nothing.
- ``apply_approved_proposals``: the safe application of approved proposals (a prompt change
  becomes the ``candidate`` version; production does not move) — requested by the
  ``approved_proposals_sensor``; the experiments issue takes the candidate from there.
"""

from enum import Enum

import dagster as dg

from meta_agent.errors import InputError
from meta_agent.improvement import pipeline, present, workflow
from meta_agent.improvement.present import decision_rows
from meta_agent_defs.improvement.assets import ASSETS
from meta_agent_defs.improvement.checks import high_risk_waits_for_a_person, proposals_quantified
from meta_agent_defs.metadata import Column, table
from meta_agent_defs.resources import OpsDatabase

TAGS = {"meta_agent/capability": "improvement"}

improvement_daily_job = dg.define_asset_job(
    "improvement_daily",
    selection=dg.AssetSelection.assets(*ASSETS) | dg.AssetSelection.checks(proposals_quantified,
                                                                          high_risk_waits_for_a_person),
    tags=TAGS, description="Turn a day's findings into proposals, apply the auto-approval rules, update the "
                           "knowledge base (or a range of days, in one run).")

improvement_daily_schedule = dg.build_schedule_from_partitioned_job(
    improvement_daily_job, name="improvement_daily_0500_utc", hour_of_day=5, minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Yesterday's partition of the improvement assets, at 05:00 UTC (after evaluation).")


class Decision(Enum):
    approve = "approve"
    reject = "reject"


class ProposalDecisionConfig(dg.Config):
    """A person's decision on one proposal (every field required)."""

    proposal_id: str  # e.g. prop-1a2b3c4d5e6f: `meta-agent proposals list`
    decision: Decision
    reviewer: str  # who decides (kept in the audit trail)
    reason: str  # why (kept in the audit trail)


DECISION_COLUMNS = [Column("proposal"), Column("from"), Column("to"), Column("by"), Column("reason")]


@dg.op(tags=TAGS, description="Approve or reject one proposal (workflow.decide): validated, audited, atomic.")
def decide_proposal(context: dg.OpExecutionContext, config: ProposalDecisionConfig, ops_db: OpsDatabase) -> dict:
    try:
        with ops_db.engine.begin() as conn:
            d = workflow.decide(conn, config.proposal_id, config.decision.value, reviewer=config.reviewer,
                                reason=config.reason)
    except InputError as exc:  # the run fails with the library's sentence; nothing was changed
        raise dg.Failure(str(exc), allow_retries=False) from None
    context.log.info(f"{d.proposal_id}: {d.from_state} → {d.to_state} by {d.reviewer}")
    context.add_output_metadata({"decision": table(decision_rows([d]), DECISION_COLUMNS)})
    return {"proposal_id": d.proposal_id, "from_state": d.from_state, "to_state": d.to_state}


@dg.job(name="proposal_decision", tags=TAGS,
        description="Approve or reject a proposal from the Launchpad: proposal id, decision, reviewer, reason.")
def proposal_decision_job() -> None:
    decide_proposal()


class ApplyConfig(dg.Config):
    proposal_ids: list[str]  # approved proposals to apply (the sensor fills this in)
    actor: str = "approved_proposals_sensor"


APPLIED_COLUMNS = [Column("proposal"), Column("kind"), Column("what", description="what applying did")]


@dg.op(tags=TAGS, description="Apply approved proposals the safe way: a candidate prompt version, a change request.")
def apply_proposals(context: dg.OpExecutionContext, config: ApplyConfig, ops_db: OpsDatabase) -> dict:
    out = pipeline.apply_approved(ops_db.url, config.proposal_ids, actor=config.actor)
    for pid in out.skipped:
        context.log.info(f"{pid}: no longer approved-and-unapplied; skipped")
    for pid, why in out.refused.items():
        context.log.warning(f"{pid}: not applied: {why}")
    rows = [{"proposal": a.proposal_id, "kind": a.kind, "what": present.applied_text(a.applied)} for a in out.applied]
    context.add_output_metadata({"applied": table(rows, APPLIED_COLUMNS), "skipped": len(out.skipped),
                                 "refused": len(out.refused)})
    return {"applied": [a.proposal_id for a in out.applied], "skipped": out.skipped, "refused": out.refused}


@dg.job(name="apply_approved_proposals", tags=TAGS,
        description="Apply approved proposals: prompt changes become the candidate version (production does not move).")
def apply_approved_proposals_job() -> None:
    apply_proposals()


JOBS = [improvement_daily_job, proposal_decision_job, apply_approved_proposals_job]
SCHEDULES = [improvement_daily_schedule]
