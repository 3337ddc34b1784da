"""Evaluation assets: execution scores, failure embeddings, failure clusters, root-cause
findings (daily) and the agent evaluation report (weekly, one report per agent).

The daily assets use ``BackfillPolicy.single_run``: a backfill of a range is one run that
loops over its days, each day rewritten in its own transaction, each with its own metadata.
Clusters and findings look back over a rolling window (``pipeline.WINDOW_DAYS``) ending on
their day; the report reads its week and the week before.
"""

from datetime import date

import dagster as dg

from meta_agent.evaluation import pipeline, present
from meta_agent.ops import frames
from meta_agent_defs.agent_ops.assets import daily_agent_metrics, validated_executions
from meta_agent_defs.metadata import Column, chart, md_table, path, sparkline, table
from meta_agent_defs.partitions import daily_partitions, weekly_partitions
from meta_agent_defs.resources import (
    ArtifactStore,
    LLMGatewayResource,
    NotifierResource,
    OpsDatabase,
    RepoConfig,
)

GROUP = "evaluation"
OWNERS = ["team:platform"]
TAGS = {"meta_agent/capability": "evaluation"}
WINDOW = dg.TimeWindowPartitionMapping(start_offset=-(pipeline.WINDOW_DAYS - 1))

_daily = {"group_name": GROUP, "owners": OWNERS, "tags": TAGS, "partitions_def": daily_partitions,
          "backfill_policy": dg.BackfillPolicy.single_run()}

SCORE_COLUMNS = [Column("agent"), Column("name", description="score name"),
                 Column("source", description="human, llm_judge or check"), Column("scores", "int"),
                 Column("mean", "float", description="0–1"), Column("p10", "float"), Column("p50", "float"),
                 Column("p90", "float"), Column("below_half", description="share of scores below 0.5")]
EMBED_COLUMNS = [Column("agent"), Column("failures", "int", description="failed or timed-out executions"),
                 Column("signatures", "int", description="distinct failure signatures"),
                 Column("top_signature", description="the most frequent one")]
CLUSTER_COLUMNS = [Column("cluster", description="stable key"), Column("label", description="top terms"),
                   Column("size", "int", description="failures in the window"), Column("trend"),
                   Column("agents", description="failures by agent"), Column("error_types"),
                   Column("first_seen"), Column("last_seen"), Column("samples", description="execution ids")]
FINDING_COLUMNS = [Column("category", description="prompt, tool, context, external or unknown"),
                   Column("confidence", description="calibrated on labelled fleets (docs/root-cause.md)"),
                   Column("agents"), Column("title"), Column("evidence", description="the dimension that explains it"),
                   Column("first_bad_execution"), Column("since", description="the change point (UTC)"),
                   Column("recurrence", description="new, or recurring since a day")]
REPORT_COLUMNS = [Column("agent"), Column("overall", "float", description="0–100, weighted (docs/evaluation-report.md)"),
                  Column("reliability", "float"), Column("efficiency", "float"), Column("cost", "float"),
                  Column("quality", "float"), Column("risk"), Column("regressions", "int", description="significant"),
                  Column("improvements", "int", description="significant"), Column("version", "int"),
                  Column("html", description="the report as a standalone HTML file")]


def _days(context: dg.AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    return frames.days_in(window.start, window.end)


@dg.asset(**_daily, deps=[validated_executions], kinds={"sql", "python"})
def execution_scores(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                     llm: LLMGatewayResource, repo_config: RepoConfig) -> dg.MaterializeResult:
    """Quality scores of the day's executions — from people and checks (the SDK's
    ``ex.score``, score records in ``logs ingest``) and, when a model is configured, an
    LLM judge scoring a stratified sample against config/judge_rubric.yaml. Offline the judge
    is skipped and the day says how much is unscored; nothing is invented."""
    gateway = llm.get_gateway()
    rubric = pipeline.load_rubric(repo_config.file(pipeline.RUBRIC_FILE))
    for day in _days(context):
        d = pipeline.score_day(ops_db.url, day, gateway, rubric)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            **d.scalars(), "by_agent": table(d.rows(), SCORE_COLUMNS)})
    return dg.MaterializeResult()


@dg.asset(**_daily, deps=[validated_executions], kinds={"sql", "scikitlearn"})
def failure_embeddings(context: dg.AssetExecutionContext, ops_db: OpsDatabase, llm: LLMGatewayResource,
                       artifacts: ArtifactStore) -> dg.MaterializeResult:
    """A vector per failed execution of the day: its signature (error type, masked message,
    failing action) embedded by the gateway (offline: feature hashing), stored in the ops DB,
    and added incrementally to the HNSW index that ``meta-agent eval similar`` searches."""
    gateway = llm.get_gateway()
    index_dir = artifacts.dir(*pipeline.INDEX_DIR)
    for day in _days(context):
        d = pipeline.embed_day(ops_db.url, day, gateway, index_dir)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            **d.scalars(), "by_agent": table(d.rows(), EMBED_COLUMNS), "index": path(index_dir)})
    return dg.MaterializeResult()


@dg.asset(**_daily, kinds={"sql", "scikitlearn"},
          deps=[dg.AssetDep(failure_embeddings, partition_mapping=WINDOW)])
def failure_clusters(context: dg.AssetExecutionContext, ops_db: OpsDatabase, notifier: NotifierResource,
                     artifacts: ArtifactStore) -> dg.MaterializeResult:
    """Clusters of similar failures across the fleet over the rolling window ending on the
    day: label (top terms), size, agents, first and last seen, trend (new, growing,
    recurring, resolved), samples. One provider outage seen by five agents is one cluster.
    A new cluster across several agents raises an alert."""
    for day in _days(context):
        d = pipeline.cluster_day(ops_db.url, day, notifier=notifier.get(), chart_dir=artifacts.dir("evaluation", "clusters"))
        counts, caption = d.per_day()
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "failures_per_day": sparkline(counts, "clustered failures per day", caption),
            "clusters": table(present.cluster_rows(d.clusters), CLUSTER_COLUMNS), **d.scalars(),
            "trend_chart": chart(d.chart, "failures per day of the largest clusters")})
    return dg.MaterializeResult()


@dg.asset(**_daily, kinds={"sql", "scikitlearn"}, deps=[failure_clusters, daily_agent_metrics])
def root_cause_findings(context: dg.AssetExecutionContext, ops_db: OpsDatabase, notifier: NotifierResource,
                        llm: LLMGatewayResource) -> dg.MaterializeResult:
    """For each significant pattern of the window — a new or growing cluster, a jump in an
    agent's failure rate, p95 latency or cost — a finding: category (prompt, tool, context,
    external) with a calibrated confidence, the dimension that explains it with its contrast,
    the executions and actions that show it, the first bad execution, and whether it is new or
    recurring. An external finding raises an alert. With a model configured the gateway may
    reword a description; the numbers, category and evidence stay the analysis's."""
    gateway = llm.get_gateway()
    for day in _days(context):
        d = pipeline.findings_day(ops_db.url, day, notifier=notifier.get(), gateway=gateway)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={  # what to read first, first
            "summary": dg.MetadataValue.md(present.findings_markdown(d.findings)),
            "findings": table(present.finding_rows(d.findings), FINDING_COLUMNS), **d.scalars()})
    return dg.MaterializeResult()


@dg.asset(group_name=GROUP, owners=OWNERS, tags=TAGS, partitions_def=weekly_partitions, kinds={"sql", "html"},
          deps=[dg.AssetDep(execution_scores), dg.AssetDep(root_cause_findings), dg.AssetDep(daily_agent_metrics)])
def agent_evaluation_report(context: dg.AssetExecutionContext, ops_db: OpsDatabase, llm: LLMGatewayResource,
                            repo_config: RepoConfig, artifacts: ArtifactStore) -> dg.MaterializeResult:
    """One report per agent for the ISO week, against the week before: scores 0–100 on
    reliability, efficiency, cost and quality with their inputs; every change with its test
    and interval (a regression or improvement only when significant); strengths, weaknesses,
    risk, an executive summary and specific recommendations. Stored versioned in the ops DB,
    rendered here as markdown and as a standalone HTML file."""
    first, last = pipeline.week_period(context.partition_time_window.start.date())
    week = pipeline.report_week(ops_db.url, first, last, gateway=llm.get_gateway(),
                                sla_file=repo_config.file(pipeline.SLA_FILE),
                                out_dir=artifacts.dir("evaluation", "reports", first.isoformat()),
                                run_id=context.run.run_id)
    context.log.info(week.sentence)
    values, caption = week.worst_trend()
    return dg.MaterializeResult(metadata={
        **week.scalars(),
        "worst_agent_trend": sparkline(values, "worst agent, its largest regression per day", caption),
        "reports": table(present.report_rows(week.reports), REPORT_COLUMNS),
        "worst_agent_report": dg.MetadataValue.md(week.worst_markdown()),
        "regressions": md_table(present.regression_rows(week.reports)),
        "score_chart": chart(week.chart, "overall score by agent"),
    })


DAILY_ASSETS = [execution_scores, failure_embeddings, failure_clusters, root_cause_findings]
ASSETS = [*DAILY_ASSETS, agent_evaluation_report]
