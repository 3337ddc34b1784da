"""Asset checks of agent operations: the data-quality suite and the SLA budgets.

A run covers one day (the 02:00 schedule) or a range of days (a backfill, the demo). Each
check yields one result per run: over a range it reports the worst day, and its metadata
lists every failing day, so a backfill's checks say exactly what went wrong where.
"""

from __future__ import annotations

import dagster as dg

from meta_agent.ops import sla
from meta_agent.ops.quality import DayQuality
from meta_agent.reporting import markdown_table

QUALITY_CHECK = "execution_quality_suite"

# One check per SLA metric, on the sla_compliance asset.
SLA_SUCCESS_RATE_CHECK = "sla_success_rate"
SLA_LATENCY_P95_CHECK = "sla_latency_p95"
SLA_LATENCY_P99_CHECK = "sla_latency_p99"
SLA_DAILY_COST_CHECK = "sla_daily_cost"
SLA_HUMAN_RATE_CHECK = "sla_human_intervention_rate"
SLA_CHECKS = {
    "min_success_rate": SLA_SUCCESS_RATE_CHECK,
    "max_latency_p95_ms": SLA_LATENCY_P95_CHECK,
    "max_latency_p99_ms": SLA_LATENCY_P99_CHECK,
    "max_daily_cost_usd": SLA_DAILY_COST_CHECK,
    "max_human_intervention_rate": SLA_HUMAN_RATE_CHECK,
}
assert set(SLA_CHECKS) == set(sla.BY_KEY)  # every SLA metric has its check


def quality_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(QUALITY_CHECK, asset=asset, description=(
        "great-expectations suite on the day's executions: required columns, non-null values, "
        "allowed statuses, non-negative latency/tokens/cost, ended_at >= started_at, non-blank "
        "agent ids. Failing rows are kept out of the metrics."))]


def sla_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, description=(
        f"{sla.BY_KEY[key].label}: WARN at >= 80 % of the error budget, ERROR above 100 %, per agent."))
        for key, name in SLA_CHECKS.items()]


def quality_check_result(days: list[DayQuality]) -> dg.AssetCheckResult:
    checked = [d for d in days if d.skipped is None]
    bad = [d for d in checked if d.rows_rejected]
    failing: dict[str, int] = {}
    examples: list[dict] = []
    for d in bad:
        for r in d.results:
            if not r["success"]:
                failing[r["expectation"]] = failing.get(r["expectation"], 0) + r["unexpected_count"]
                examples += [{"day": d.day.isoformat(), "expectation": r["expectation"], **e}
                             for e in r["examples"]][: max(0, 10 - len(examples))]
    rows_checked = sum(d.rows_checked for d in checked)
    rejected = sum(d.rows_rejected for d in checked)
    return dg.AssetCheckResult(
        check_name=QUALITY_CHECK,
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{rejected} of {rows_checked} executions failed the suite on {len(bad)} day(s); "
                     "they are excluded from the metrics" if bad else f"all {rows_checked} executions passed"),
        metadata={
            "rows_checked": rows_checked,
            "rows_rejected": rejected,
            "days_checked": len(checked),
            "days_with_failures": dg.MetadataValue.json([d.day.isoformat() for d in bad]),
            "failing_counts": dg.MetadataValue.json(failing),
            "examples": dg.MetadataValue.md(markdown_table(examples) if examples else "_none_"),
        },
    )


def sla_check_results(evaluations: list[dict]) -> list[dg.AssetCheckResult]:
    """One result per SLA metric: ERROR on any breach, WARN on any warning, else passed."""
    out = []
    for key, name in SLA_CHECKS.items():
        rows = [r for r in evaluations if r["metric"] == key]
        flagged = sorted((r for r in rows if r["status"] != "ok"),
                         key=lambda r: (r["status"] != "breach", -r["consumed"]))
        breaches = [r for r in flagged if r["status"] == "breach"]
        worst = flagged[0] if flagged else max(rows, key=lambda r: r["consumed"], default=None)
        table = [{"day": r["day"].isoformat(), "agent": r["agent_id"], "status": r["status"],
                  "actual": r["actual"], "limit": r["limit_value"], "consumed": f"{r['consumed']:.0%}",
                  "driven_by": _drivers(r["attribution"])} for r in flagged]
        out.append(dg.AssetCheckResult(
            check_name=name,
            passed=not flagged,
            severity=dg.AssetCheckSeverity.ERROR if breaches else dg.AssetCheckSeverity.WARN,
            description=sla.describe(worst) if worst else "nothing evaluated: no data or no limit defined",
            metadata={
                "evaluations": len(rows),
                "breaches": len(breaches),
                "warnings": len(flagged) - len(breaches),
                "agents_flagged": dg.MetadataValue.json(sorted({r["agent_id"] for r in flagged})),
                "worst_consumed": round(worst["consumed"], 4) if worst else 0.0,
                "flagged": dg.MetadataValue.md(markdown_table(table) if table else "_all within budget_"),
                "attribution": dg.MetadataValue.json(
                    {f"{r['day']}/{r['agent_id']}": r["attribution"] for r in flagged[:5]}),
            },
        ))
    return out


def _drivers(attribution: dict) -> str:
    for key in ("failing_ids", "slowest_ids", "most_expensive_ids", "intervention_ids"):
        if attribution.get(key):
            return ", ".join(i["execution_id"][:12] for i in attribution[key][:3])
    return ""
