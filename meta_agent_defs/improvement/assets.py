"""Improvement assets: proposals from the day's findings, the day's decisions (expiry and
auto-approval), and the knowledge base of what adopted changes taught.

Daily partitions like the evaluation assets they follow (``BackfillPolicy.single_run``: a
range is one run, each day with its own metadata). ``improvement_proposals`` reads the
findings ``root_cause_findings`` stored for its day; duplicates of an open proposal are
merged into it, so re-running a day never repeats a proposal.
"""

from datetime import date

import dagster as dg

from meta_agent.improvement import pipeline, present
from meta_agent.ops import frames
from meta_agent_defs.evaluation.assets import root_cause_findings
from meta_agent_defs.metadata import Column, md_table, table
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import LLMGatewayResource, OpsDatabase, RepoConfig

GROUP = "improvement"
OWNERS = ["team:platform"]
TAGS = {"meta_agent/capability": "improvement"}

_daily = {"group_name": GROUP, "owners": OWNERS, "tags": TAGS, "partitions_def": daily_partitions,
          "backfill_policy": dg.BackfillPolicy.single_run()}

PROPOSAL_COLUMNS = [
    Column("proposal", description="id: `meta-agent proposals show ID`"), Column("state"),
    Column("kind", description="prompt_change, prompt_rollback, tool_change, config_change, sla_change"),
    Column("agent"), Column("title", description="the exact change"),
    Column("expected", description="the effect the data supports, with its 95 % interval"),
    Column("risk", description="low, medium or high (docs/improvement.md)"),
    Column("confidence", "float", description="0–1"), Column("blast_radius", description="traffic share, agents"),
    Column("priority", "float", description="expected benefit × traffic × confidence"),
    Column("occurrences", "int", description="days it was generated (duplicates merged)")]
DECISION_COLUMNS = [Column("proposal"), Column("from"), Column("to"), Column("by", description="auto:<rule> or a person"),
                    Column("reason")]
WAITING_COLUMNS = [Column("proposal"), Column("kind"), Column("agent"), Column("risk"), Column("title"),
                   Column("why_waiting", description="why no rule approved it")]
LEARNING_COLUMNS = [Column("learning"), Column("agent"), Column("title"),
                    Column("effect", description="measured after − before"), Column("interval", description="95 %"),
                    Column("confidence", "float", description="rises with confirmations, decays with age"),
                    Column("confirmations", "int"), Column("status")]
SUGGESTION_COLUMNS = [Column("learning"), Column("from_agent"), Column("to_agent"),
                      Column("similarity", "float", description="cosine of the failure signatures"), Column("why")]


def _days(context: dg.AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    return frames.days_in(window.start, window.end)


@dg.asset(**_daily, deps=[root_cause_findings], kinds={"sql", "python"})
def improvement_proposals(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                          llm: LLMGatewayResource) -> dg.MaterializeResult:
    """Specific, quantified proposals from the day's root-cause findings and the latest
    evaluation reports: prompt rollbacks and fixes (with their diff), tool pins and retries,
    config changes (fallback model, retry budget, context truncation), SLA changes — each with
    its expected effect and interval computed from the executions, risk, blast radius,
    rollback plan, priority and evidence. An external cause gets a resilience change, never a
    prompt edit. A duplicate of an open proposal is merged into it."""
    gateway = llm.get_gateway()
    for day in _days(context):
        d = pipeline.propose_day(ops_db.url, day, gateway=gateway)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "proposals_detail": dg.MetadataValue.md(present.proposals_markdown(d.proposals)),
            "proposals_table": table(present.proposal_rows(d.proposals), PROPOSAL_COLUMNS), **d.scalars()})
    return dg.MaterializeResult()


@dg.asset(**_daily, deps=[improvement_proposals], kinds={"sql", "yaml"})
def proposal_decisions(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                       repo_config: RepoConfig) -> dg.MaterializeResult:
    """Stale proposals expire; the rules of config/approvals.yaml auto-approve what they allow
    (low risk, enough confidence, a small blast radius, an allowed kind); every high-risk
    proposal waits for a person (`meta-agent proposals approve|reject`, or the
    ``proposal_decision`` job from the Launchpad)."""
    rules = pipeline.load_rules(repo_config.file(pipeline.APPROVALS_FILE))
    for day in _days(context):
        d = pipeline.decide_day(ops_db.url, day, rules)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "auto_approved": table(present.decision_rows(d.auto_approved), DECISION_COLUMNS),
            "waiting_for_a_person": table(present.waiting_rows(d.waiting), WAITING_COLUMNS), **d.scalars()})
    return dg.MaterializeResult()


@dg.asset(**_daily, deps=[proposal_decisions], kinds={"sql", "scikitlearn"})
def knowledge_base(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                   llm: LLMGatewayResource) -> dg.MaterializeResult:
    """What adopted changes taught: each measured effect (after − before, with its interval)
    becomes a learning or confirms one; confidence rises with confirmations and decays with
    age or contrary evidence; learnings are suggested to other agents whose failure clusters
    look alike (embedding similarity). Deprecated learnings are kept, not shown."""
    gateway = llm.get_gateway()
    for day in _days(context):
        d = pipeline.knowledge_day(ops_db.url, day, gateway=gateway)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "learnings": table(present.learning_rows(d.recorded), LEARNING_COLUMNS),
            "suggestions": md_table(d.suggestions, ["learning_id", "from_agent", "to_agent", "similarity", "why"]),
            **d.scalars()})
    return dg.MaterializeResult()


ASSETS = [improvement_proposals, proposal_decisions, knowledge_base]
