"""Summaries of stored daily results that the UI and the CLI show (no new computation)."""

from __future__ import annotations


def fleet_totals(metric_rows: list[dict]) -> dict:
    """One day's per-agent metric rows rolled up over the fleet: executions, success rate
    over the non-cancelled executions, total cost, and the worst agent's p95 latency."""
    executions = sum(int(r["executions"]) for r in metric_rows)
    decided = sum(int(r["executions"]) - int(r["cancelled"]) for r in metric_rows)
    successes = sum(int(r["successes"]) for r in metric_rows)
    p95 = [r["latency_p95_ms"] for r in metric_rows if r["latency_p95_ms"] is not None]
    return {"executions": executions, "success_rate": successes / decided if decided else None,
            "cost_usd": float(sum(float(r["cost_usd"] or 0) for r in metric_rows)),
            "worst_p95_ms": max(p95) if p95 else None}
