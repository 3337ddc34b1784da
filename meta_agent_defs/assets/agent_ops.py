"""Agent operations: validated daily slices, daily metrics, SLA compliance and SLA reports.

Daily assets use ``BackfillPolicy.single_run``: a backfill of any range is one run that
loops over its days, each day rewritten in its own transaction (idempotent).
"""

from datetime import date

import dagster as dg

from meta_agent import config
from meta_agent.ops import frames, metrics, quality, reports, sla
from meta_agent.reporting import markdown_table
from meta_agent_defs.assets import agent_ops_checks as checks
from meta_agent_defs.assets.foundation import execution_log
from meta_agent_defs.jobs import agent_ops as jobs
from meta_agent_defs.partitions import daily_partitions
from meta_agent_defs.resources import OpsDatabase

GROUP = "agent_ops"
OWNERS = ["team:platform"]
REPORT_PERIODS = 12
_daily = {"group_name": GROUP, "owners": OWNERS, "partitions_def": daily_partitions,
          "backfill_policy": dg.BackfillPolicy.single_run()}
METRIC_COLUMNS = ["agent_id", "executions", "success_rate", "latency_p50_ms", "latency_p95_ms",
                  "latency_p99_ms", "cost_usd", "human_interventions", "error_types"]


def _days(context: dg.AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    return frames.days_in(window.start, window.end)


@dg.asset(**_daily, deps=[execution_log], kinds={"sql", "pandas"},
          check_specs=checks.quality_check_specs("validated_executions"))
def validated_executions(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """The day's executions checked by a great-expectations suite. Rows that fail are
    recorded in execution_rejections (with the expectation they failed) and never reach the
    metrics; agents seen for the first time are registered."""
    suite = quality.ExecutionSuite()
    days = [quality.validate_day(ops_db.engine, d, suite) for d in _days(context)]
    return dg.MaterializeResult(
        metadata={
            "days": len(days),
            "rows_checked": sum(d.rows_checked for d in days),
            "rows_rejected": sum(d.rows_rejected for d in days),
            "agents_registered": sum(d.new_agents for d in days),
            "by_day": dg.MetadataValue.md(markdown_table(
                [{k: v for k, v in d.as_dict().items() if k != "failing"} for d in days], max_rows=400)),
        },
        check_results=[checks.quality_check_result(days)],
    )


@dg.asset(**_daily, deps=[validated_executions], kinds={"sql", "polars"})
def daily_agent_metrics(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """Per agent and UTC day: executions by status, success rate (cancelled left out),
    latency p50/p95/p99 (numpy's linear interpolation), tokens, cost, cost per success,
    human interventions and errors by type — over the validated executions, with polars."""
    days = [metrics.aggregate_day(ops_db.engine, d) for d in _days(context)]
    latest = next((d for d in reversed(days) if d.rows), None)
    return dg.MaterializeResult(metadata={
        "days": len(days),
        "agent_days_written": sum(len(d.rows) for d in days),
        "executions_aggregated": sum(d.executions for d in days),
        "days_skipped": dg.MetadataValue.json({d.day.isoformat(): d.skipped for d in days if d.skipped}),
        "latest_day": latest.day.isoformat() if latest else "",
        "latest_day_metrics": dg.MetadataValue.md(
            markdown_table(latest.rows, METRIC_COLUMNS) if latest else "_no executions_"),
    })


@dg.asset(**_daily, deps=[daily_agent_metrics], kinds={"sql", "yaml"},
          check_specs=checks.sla_check_specs("sla_compliance"))
def sla_compliance(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """Each agent's day against its SLA (config/slas.yaml, overridden from the DB by
    `meta-agent sla set`): budget consumed per metric, warn at 80 %, breach above 100 %,
    with the executions that drove every warning and breach. Rows in sla_evaluations."""
    with ops_db.engine.connect() as conn:
        definitions = sla.load_definitions(conn)
    by_day = {d: sla.evaluate_day(ops_db.engine, d, definitions) for d in _days(context)}
    rows = [r for day_rows in by_day.values() for r in day_rows]
    last = max((d for d, rs in by_day.items() if rs), default=None)
    flagged = [r for r in rows if r["status"] != "ok"]
    return dg.MaterializeResult(
        metadata={
            "evaluations": len(rows),
            "breaches": sum(r["status"] == "breach" for r in rows),
            "warnings": sum(r["status"] == "warn" for r in rows),
            "latest_day": last.isoformat() if last else "",
            "latest_day_sla": dg.MetadataValue.md(markdown_table(sla.status_grid(by_day[last])) if last else "_no metrics_"),
            "warnings_and_breaches": dg.MetadataValue.md(markdown_table(
                [{"day": r["day"], "what": sla.describe(r)} for r in flagged], max_rows=200) if flagged else "_none_"),
            "sla_file": dg.MetadataValue.path(str(definitions.file.path)),
            "db_overrides": len(definitions.db),
        },
        check_results=checks.sla_check_results(rows),
    )


def _report_result(report: reports.PeriodReport) -> dg.MaterializeResult:
    latest = [r for r in report.rows if report.fleet and r["period_start"] == report.fleet[-1]["period_start"]]
    return dg.MaterializeResult(metadata={
        "as_of": report.as_of.isoformat() if report.as_of else "",
        "periods": len(report.fleet),
        "rows": len(report.rows),
        "fleet_trend": dg.MetadataValue.md(markdown_table(report.fleet) if report.fleet else "_no evaluations yet_"),
        "latest_period_by_agent": dg.MetadataValue.md(markdown_table(
            latest, ["agent_id", "days_evaluated", "days_ok", "days_warn", "days_breach", "compliance",
                     "breached_metrics"]) if latest else "_none_"),
        "chart": dg.MetadataValue.path(str(report.chart) if report.chart else ""),
    })


@dg.asset(group_name=GROUP, owners=OWNERS, deps=[sla_compliance], kinds={"sql", "matplotlib"})
def sla_report_weekly(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """Rolling SLA report over the last 12 ISO weeks: per agent and week, days without a
    breach (compliance), warnings, breaches by metric; PNG trend chart under artifacts."""
    return _report_result(reports.build_report(
        ops_db.engine, "week", periods=REPORT_PERIODS, chart_dir=config.artifacts_dir() / "sla_reports"))


@dg.asset(group_name=GROUP, owners=OWNERS, deps=[sla_compliance], kinds={"sql", "matplotlib"})
def sla_report_monthly(context: dg.AssetExecutionContext, ops_db: OpsDatabase) -> dg.MaterializeResult:
    """Rolling SLA report over the last 12 calendar months: compliance history and breach
    trend per agent; PNG trend chart under artifacts."""
    return _report_result(reports.build_report(
        ops_db.engine, "month", periods=REPORT_PERIODS, chart_dir=config.artifacts_dir() / "sla_reports"))


DAILY_ASSETS = [validated_executions, daily_agent_metrics, sla_compliance]
REPORT_ASSETS = [sla_report_weekly, sla_report_monthly]


defs = dg.Definitions(assets=[*DAILY_ASSETS, *REPORT_ASSETS], jobs=jobs.JOBS, schedules=jobs.SCHEDULES)
