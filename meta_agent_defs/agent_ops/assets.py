"""Agent operations: the execution log, the agent registry, the validated daily slices, daily
metrics, SLA compliance and the rolling SLA reports.

Daily assets use ``BackfillPolicy.single_run``: a backfill of any range is one run that
loops over its days, each day rewritten in its own transaction (idempotent), and each day's
materialization carries that day's own numbers (``add_asset_metadata(partition_key=…)``), so
the Plots tab shows real trends. The checks are in ``checks.py``.
"""

from datetime import date, timedelta

import dagster as dg

from meta_agent import units
from meta_agent.ops import frames, metrics, quality, reports, sla
from meta_agent.ops.views import fleet_totals
from meta_agent.store import agents as agent_store
from meta_agent.store.calendar import recent_intake
from meta_agent_defs.metadata import Column, chart, path, sparkline, table
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import ArtifactStore, OpsDatabase, RepoConfig

GROUP = "agent_ops"
OWNERS = ["team:platform"]
TAGS = {"meta_agent/capability": "agent_ops"}
REPORT_PERIODS = 12
INTAKE_DAYS = 30

# Expected between the 02:00 UTC daily run and 04:00 UTC, every day.
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(deadline_cron="0 4 * * *", lower_bound_delta=timedelta(hours=2))
# Rebuilt whenever an input updates (after the daily run, after a backfill), not on a cron offset.
AFTER_INPUTS = (dg.AutomationCondition.any_deps_updated().since_last_handled()
                & ~dg.AutomationCondition.any_deps_in_progress()
                & ~dg.AutomationCondition.in_progress()).with_label("after its inputs update")

_daily = {"group_name": GROUP, "owners": OWNERS, "tags": TAGS, "partitions_def": daily_partitions,
          "backfill_policy": dg.BackfillPolicy.single_run(), "freshness_policy": DAILY_FRESHNESS}

METRIC_TABLE = [
    Column("agent", description="agent id"),
    Column("executions", "int", "executions started this UTC day (every status)"),
    Column("success_rate", "string", "successes / (executions − cancelled)"),
    Column("p50", "string", "median latency of non-cancelled executions"),
    Column("p95", "string", "95th percentile latency"),
    Column("p99", "string", "99th percentile latency"),
    Column("cost", "string", "total cost (USD)"),
    Column("cost_per_success", "string", "cost / successes (USD)"),
    Column("human", "int", "executions a human stepped into"),
    Column("errors", "string", "failures and timeouts by error type"),
]
SLA_GRID = [
    Column("agent", description="agent id, worst status first"),
    Column("worst", description="worst status of the day"),
    *[Column(sla.SHORT[m.key], description=f"{m.label}: % of {'the failures the target allows' if m.kind == 'floor' else 'the limit'} used")
      for m in sla.METRICS],
]


def _days(context: dg.AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    return frames.days_in(window.start, window.end)


@dg.observable_source_asset(
    group_name=GROUP, owners=OWNERS, tags={**TAGS, "dagster/kind/sql": ""},  # (no `kinds` parameter here)
    automation_condition=dg.AutomationCondition.cron_tick_passed("0 * * * *"),
    description="The executions agents log (SDK, `meta-agent logs ingest`, OTLP), written outside Dagster: "
                "observed hourly, not materialized. Its data version changes when any of the last 30 UTC days "
                "gains or loses rows, so late arrivals show up downstream.")
def execution_log(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.ObserveResult:
    with ops_db.engine.connect() as conn:
        intake = recent_intake(conn, INTAKE_DAYS)
    return dg.ObserveResult(data_version=dg.DataVersion(intake["version"]), metadata={
        "executions_last_30_days": intake["executions"],
        "days_with_data": intake["days_with_data"],
        "last_day_with_data": str(intake["last_day"] or ""),
        "by_day": table([{**d, "cost_usd": units.usd(d["cost_usd"])} for d in reversed(intake["by_day"])], [
            Column("day"), Column("executions", "int"), Column("agents", "int"), Column("successes", "int"),
            Column("tokens", "int"), Column("cost_usd", description="USD")]),
        "ops_db": ops_db.describe(),
    })


@dg.asset(group_name=GROUP, owners=OWNERS, tags=TAGS, kinds={"sql", "yaml"}, deps=[execution_log],
          automation_condition=AFTER_INPUTS)
def agent_registry(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                   repo_config: RepoConfig) -> dg.MaterializeResult:
    """Every agent that logs, with owner and team from config/agents.yaml; agents seen in the
    logs but missing from the file are registered automatically."""
    file = repo_config.file("agents.yaml")
    entries = agent_store.load_registry_file(file)
    with ops_db.engine.begin() as conn:
        agent_store.apply_registry(conn, entries)
        rows = agent_store.registry_overview(conn)
    return dg.MaterializeResult(metadata={
        "agents": len(rows),
        "described_in_file": len(entries),
        "without_owner": len([r for r in rows if not r["owner"]]),
        "registry": table(rows, [Column("agent_id"), Column("team"), Column("owner"),
                                 Column("executions", "int", "executions logged so far"),
                                 Column("first_seen_at"), Column("last_seen_at")]),
        "registry_file": path(file),
    })


@dg.asset(**_daily, deps=[execution_log, agent_registry], kinds={"sql", "great_expectations"})
def validated_executions(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """The day's executions checked by a great-expectations suite. Rows that fail are
    recorded in execution_rejections (with the expectation they failed) and never reach the
    metrics; agents seen for the first time are registered."""
    suite = quality.ExecutionSuite()
    for day in _days(context):
        d = quality.validate_day(ops_db.engine, day, suite)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "rows_checked": d.rows_checked,
            "rows_rejected": d.rows_rejected,
            "rejected_share": round(d.rows_rejected / d.rows_checked, 6) if d.rows_checked else 0.0,
            "agents_registered": d.new_agents,
            "skipped": d.skipped or "",
            "failing_expectations": table(
                [{"expectation": r["expectation"], "unexpected": r["unexpected_count"]} for r in d.results
                 if not r["success"]], [Column("expectation"), Column("unexpected", "int", "rows that failed it")]),
        })
    return dg.MaterializeResult()


@dg.asset(**_daily, deps=[validated_executions], kinds={"sql", "polars"})
def daily_agent_metrics(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """Per agent and UTC day: executions by status, success rate (cancelled left out),
    latency p50/p95/p99 (numpy's linear interpolation), tokens, cost, cost per success,
    human interventions and errors by type — over the validated executions."""
    for day in _days(context):
        d = metrics.aggregate_day(ops_db.engine, day)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata=_metrics_metadata(d))
    return dg.MaterializeResult()


def _metrics_metadata(d: metrics.DayMetrics) -> dict:
    fleet = fleet_totals(d.rows)
    return {
        "agents": len(d.rows),
        "executions": d.executions,
        "success_rate": round(fleet["success_rate"], 6) if fleet["success_rate"] is not None else 0.0,
        "cost_usd": round(fleet["cost_usd"], 4),
        "latency_p95_ms_worst_agent": round(fleet["worst_p95_ms"] or 0.0, 1),
        "skipped": d.skipped or "",
        "by_agent": table([{
            "agent": r["agent_id"], "executions": r["executions"], "success_rate": units.pct(r["success_rate"]),
            "p50": units.duration_ms(r["latency_p50_ms"]), "p95": units.duration_ms(r["latency_p95_ms"]),
            "p99": units.duration_ms(r["latency_p99_ms"]), "cost": units.usd(r["cost_usd"]),
            "cost_per_success": units.usd(r["cost_per_success_usd"]), "human": r["human_interventions"],
            "errors": units.tally(r["error_types"])} for r in d.rows], METRIC_TABLE),
    }


@dg.asset(**_daily, deps=[daily_agent_metrics], kinds={"sql", "yaml"})
def sla_compliance(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                   repo_config: RepoConfig) -> dg.MaterializeResult:
    """Each agent's day against its SLA (config/slas.yaml, overridden from the DB by
    `meta-agent sla set`): budget used per metric, WARN from 80 %, BREACH above 100 %, with
    the executions that drove every warning and breach. Rows in sla_evaluations."""
    with ops_db.engine.connect() as conn:
        definitions = sla.load_definitions(conn, repo_config.file(sla.SLA_FILE))
    for day in _days(context):
        rows = sla.evaluate_day(ops_db.engine, day, definitions)
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "evaluations": len(rows),
            "breaches": sum(r["status"] == "breach" for r in rows),
            "warnings": sum(r["status"] == "warn" for r in rows),
            "agents_in_breach": len({r["agent_id"] for r in rows if r["status"] == "breach"}),
            "worst_budget_used_pct": round(100 * max((r["consumed"] for r in rows), default=0.0), 1),
            "status_by_agent": table(sla.status_grid(rows), SLA_GRID),
            "db_overrides": len(definitions.db),
        })
    return dg.MaterializeResult()


def _report(report: reports.PeriodReport, label: str) -> dg.MaterializeResult:
    latest = [r for r in report.rows if report.fleet and r["period_start"] == report.fleet[-1]["period_start"]]
    return dg.MaterializeResult(metadata={
        "as_of": str(report.as_of or ""),
        "periods": len(report.fleet),
        "fleet_compliance_latest": round(report.fleet[-1]["compliance"], 4) if report.fleet else 0.0,
        "compliance_trend": sparkline([f["compliance"] for f in report.fleet], f"fleet compliance by {label}",
                                      f"fleet compliance, last {len(report.fleet)} {label}s: "
                                      + " → ".join(units.pct(f["compliance"], 0) for f in report.fleet[-3:])),
        "chart": chart(report.chart, f"SLA compliance by {label}"),
        "fleet_trend": table([{**f, "compliance": units.pct(f["compliance"])} for f in report.fleet], [
            Column("period_start"), Column("agents", "int"), Column("agent_days", "int"),
            Column("compliance", description="agent-days without a breach"), Column("breach_days", "int"),
            Column("breaches", "int"), Column("warnings", "int"), Column("worst_agent")]),
        "latest_period_by_agent": table([{**r, "compliance": units.pct(r["compliance"]),
                                          "breached_metrics": units.tally(r["breached_metrics"])} for r in latest], [
            Column("agent_id"), Column("days_evaluated", "int"), Column("days_ok", "int"), Column("days_warn", "int"),
            Column("days_breach", "int"), Column("compliance", description="days without a breach"),
            Column("breached_metrics", description="breaches by metric")]),
        "chart_file": path(report.chart),
    })


@dg.asset(group_name=GROUP, owners=OWNERS, tags=TAGS, deps=[sla_compliance], kinds={"sql", "matplotlib"},
          automation_condition=AFTER_INPUTS)
def sla_report_weekly(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                      artifacts: ArtifactStore) -> dg.MaterializeResult:
    """Rolling SLA report over the last 12 ISO weeks: per agent and week, days without a
    breach (compliance), warnings, breaches by metric, with its trend chart."""
    return _report(reports.build_report(ops_db.engine, "week", periods=REPORT_PERIODS,
                                        chart_dir=artifacts.dir("sla_reports")), "ISO week")


@dg.asset(group_name=GROUP, owners=OWNERS, tags=TAGS, deps=[sla_compliance], kinds={"sql", "matplotlib"},
          automation_condition=AFTER_INPUTS)
def sla_report_monthly(context: dg.AssetExecutionContext, ops_db: OpsDatabase,
                       artifacts: ArtifactStore) -> dg.MaterializeResult:
    """Rolling SLA report over the last 12 calendar months: compliance history and breach
    trend per agent, with its trend chart."""
    return _report(reports.build_report(ops_db.engine, "month", periods=REPORT_PERIODS,
                                        chart_dir=artifacts.dir("sla_reports")), "month")


DAILY_ASSETS = [validated_executions, daily_agent_metrics, sla_compliance]
REPORT_ASSETS = [sla_report_weekly, sla_report_monthly]
ASSETS = [execution_log, agent_registry, *DAILY_ASSETS, *REPORT_ASSETS]
