"""Per-day verdicts of the daily checks, read back from what the daily assets stored.

The data-quality suite writes ``data_quality_results`` and the SLA evaluation writes
``sla_evaluations``; the Dagster checks turn those rows into one verdict per day (a
partition each), so a backfill of thirty days shows thirty verdicts, each on its own day.

SLA budgets: a ceiling metric (latency, cost, human-intervention rate) uses ``actual / limit``
of its budget; the success rate (a floor) uses ``(1 − actual) / (1 − target)``, the share of
the allowed failures spent. WARN from 80 %, breach above 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meta_agent import units
from meta_agent.ops.sla import BY_KEY

BUDGET_RULE = {
    "floor": "failures allowed by the target, used: (1 − actual) / (1 − target)",
    "ceiling": "the limit, used: actual / limit",
}


@dataclass
class Verdict:
    """One check on one day: passed, how bad when not (``warn`` or ``error``), why, and the
    rows behind it (readable, for a table)."""

    passed: bool
    severity: str  # "warn" | "error"
    description: str
    facts: dict[str, Any] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)


def readable_value(metric_key: str, value: float | None) -> str:
    """An SLA metric's value in its unit: rates as %, latency as a duration, cost in USD."""
    if metric_key.endswith("_rate"):
        return units.pct(value)
    if metric_key.endswith("_ms"):
        return units.duration_ms(value)
    if metric_key.endswith("_usd"):
        return units.usd(value)
    return units.number(value)


def describe_evaluation(row: dict) -> str:
    """``sql-analyst success rate 69.5 % vs target 87.0 %: 235 % of budget (breach)``."""
    m = BY_KEY[row["metric"]]
    versus = "target" if m.kind == "floor" else "limit"
    return (f"{row['agent_id']} {m.label.split(' (')[0]} {readable_value(m.key, row['actual'])} vs {versus} "
            f"{readable_value(m.key, row['limit_value'])}: {row['consumed']:.0%} of budget ({row['status']})")


def quality_verdict(result: dict | None) -> Verdict:
    """The suite's result for one day (a ``data_quality_results`` row, or None if unchecked)."""
    if result is None:
        return Verdict(False, "error", "the day has not been checked by the suite",
                       {"rows_checked": 0, "rows_rejected": 0})
    failing = [r for r in result.get("results") or [] if not r["success"]]
    checked, rejected = int(result["rows_checked"]), int(result["rows_rejected"])
    rows = [{"expectation": r["expectation"], "unexpected": int(r["unexpected_count"]),
             "examples": ", ".join(str(e.get("execution_id", e))[:12] for e in (r.get("examples") or [])[:3])}
            for r in failing]
    if rejected:
        text = (f"{rejected:,} of {checked:,} executions failed the suite "
                f"({', '.join(r['expectation'] for r in rows)}); they are kept out of the metrics")
    else:
        text = f"all {checked:,} executions passed"
    return Verdict(rejected == 0, "error", text,
                   {"rows_checked": checked, "rows_rejected": rejected,
                    "rejected_share": rejected / checked if checked else 0.0}, rows)


def sla_verdict(evaluations: list[dict], metric_key: str) -> Verdict:
    """One SLA metric over one day's evaluations: error on a breach, warn on a warning."""
    m = BY_KEY[metric_key]
    mine = [r for r in evaluations if r["metric"] == metric_key]
    flagged = sorted((r for r in mine if r["status"] != "ok"),
                     key=lambda r: (r["status"] != "breach", -r["consumed"], r["agent_id"]))
    breaches = sum(r["status"] == "breach" for r in flagged)
    worst = flagged[0] if flagged else max(mine, key=lambda r: r["consumed"], default=None)
    facts = {"agents_evaluated": len(mine), "breaches": breaches, "warnings": len(flagged) - breaches,
             "worst_budget_used": round(worst["consumed"], 4) if worst else 0.0}
    rows = [{"agent": r["agent_id"], "status": r["status"].upper(),
             "actual": readable_value(m.key, r["actual"]), "limit": readable_value(m.key, r["limit_value"]),
             "budget_used": f"{r['consumed']:.0%}", "driven_by": drivers(r.get("attribution") or {})}
            for r in flagged]
    if worst is None:
        text = f"no {m.label} limit applies, or no metrics for the day"
    elif flagged:
        text = describe_evaluation(worst) + (f"; {len(flagged) - 1} more agent(s) flagged" if len(flagged) > 1 else "")
    else:
        text = f"every agent within budget; highest {describe_evaluation(worst)}"
    return Verdict(not flagged, "error" if breaches else "warn", text, facts, rows)


def drivers(attribution: dict, n: int = 3) -> str:
    """The executions that drove a warn/breach, as short ids."""
    for key in ("failing_ids", "slowest_ids", "most_expensive_ids", "intervention_ids"):
        if attribution.get(key):
            return ", ".join(i["execution_id"][:12] for i in attribution[key][:n])
    return ""
