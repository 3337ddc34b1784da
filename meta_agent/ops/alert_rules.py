"""What deserves an alert: pure functions from evaluations to ``AlertSpec``s.

| type | raised when | severity |
|---|---|---|
| health_degraded | an agent's health is degraded | warning |
| health_critical | an agent's health is critical | critical; emergency when ≥ 10 executions in the last hour and none succeeded |
| circuit_open | the circuit opened (or is open/half-open and not yet recovered) | critical; info when forced open by hand |
| sla_warning | a day's SLA metric consumed ≥ 80 % of its budget | warning |
| sla_breach | a day's SLA metric consumed > 100 % of its budget | critical |
| data_quality | a day's execution slice failed data-quality expectations | warning; critical when ≥ 5 % of rows were rejected |
| run_failure | a Dagster run failed | warning |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time

from meta_agent.ops.alerts import AlertSpec
from meta_agent.ops.circuit import CLOSED, HALF_OPEN, OPEN, CircuitState, CircuitTransition
from meta_agent.ops.health import CRITICAL, DEGRADED, AgentHealth

EMERGENCY_MIN_VOLUME = 10
DQ_CRITICAL_SHARE = 0.05


def health_specs(h: AgentHealth, source: str = "health_sensor") -> list[AlertSpec]:
    if h.status not in (DEGRADED, CRITICAL):
        return []
    details = {"findings": [f.__dict__ for f in h.findings], "windows": h.details}
    if h.status == DEGRADED:
        return [AlertSpec(h.agent_id, "health_degraded", "warning", f"{h.agent_id} is degraded", h.reason,
                          h.as_of, source, details)]
    long = h.details.get("long", {})
    total_loss = long.get("n", 0) >= EMERGENCY_MIN_VOLUME and long.get("failures") == long.get("n")
    return [AlertSpec(h.agent_id, "health_critical", "emergency" if total_loss else "critical",
                      f"{h.agent_id} is critical" + (" — nothing succeeds" if total_loss else ""), h.reason,
                      h.as_of, source, details)]


def health_resolutions(h: AgentHealth) -> list[str]:
    """Health alert types whose condition has cleared."""
    if h.status == DEGRADED:
        return ["health_critical"]
    if h.status == CRITICAL:
        return []
    return ["health_degraded", "health_critical"]


def circuit_specs(s: CircuitState, transitions: Sequence[CircuitTransition], as_of: datetime,
                  source: str = "health_sensor") -> list[AlertSpec]:
    """An automatic circuit that opened during this evaluation, or has not recovered yet."""
    if s.override:
        return []
    opened = [t for t in transitions if t.to_state == OPEN]
    if not opened and s.state not in (OPEN, HALF_OPEN):
        return []
    first = opened[0] if opened else None
    at = first.at if first else as_of
    reason = first.reason if first else s.reason
    msg = (f"The circuit breaker of {s.agent_id} opened at {at:%Y-%m-%d %H:%M:%S} UTC: {reason}. "
           f"An agent that checks `allow_execution()` refuses work until it recovers; now {s.state.replace('_', '-')}.")
    return [AlertSpec(s.agent_id, "circuit_open", "critical", f"circuit open for {s.agent_id}", msg, at, source,
                      {"state": s.state, "since": s.since.isoformat(), "failure_rate": s.failure_rate,
                       "volume": s.volume, "transitions": [
                           {"at": t.at.isoformat(), "from": t.from_state, "to": t.to_state, "reason": t.reason}
                           for t in transitions]})]


def manual_open_spec(agent_id: str, actor: str, reason: str, at: datetime) -> AlertSpec:
    return AlertSpec(agent_id, "circuit_open", "info", f"circuit of {agent_id} forced open by {actor}",
                     f"{reason}. `meta-agent circuit auto {agent_id}` hands it back to automatic control.",
                     at, "cli", {"actor": actor})


def circuit_clears(s: CircuitState) -> bool:
    return s.effective == CLOSED


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    return "n/a" if v is None else str(v)


def sla_specs(rows: Iterable[dict], source: str = "sla_sensor") -> list[AlertSpec]:
    """One alert per (day, agent, verdict) from ``sla_evaluations`` rows with status warn or
    breach; the dedup window is the SLA day's first hour, so re-evaluating a day never
    raises it again."""
    groups: dict[tuple[date, str, str], list[dict]] = {}
    for r in rows:
        if r["status"] in ("warn", "breach"):
            groups.setdefault((_day(r["day"]), r["agent_id"], r["status"]), []).append(r)
    specs = []
    for (day, agent, status), rs in sorted(groups.items()):
        breach = status == "breach"
        metrics = sorted(rs, key=lambda r: -(r.get("consumed") or 0))
        lines = [f"- {r['metric']}: actual {_fmt(r.get('actual'))} vs limit {_fmt(r.get('limit_value'))} "
                 f"({(r.get('consumed') or 0):.0%} of the budget consumed)" for r in metrics]
        title = (f"{agent} {'breached' if breach else 'is close to'} its SLA on {day.isoformat()}: "
                 + ", ".join(r["metric"] for r in metrics))
        msg = (f"SLA {'breach' if breach else 'warning (≥ 80 % of the budget)'} for {agent} on {day.isoformat()}:\n"
               + "\n".join(lines))
        specs.append(AlertSpec(agent, "sla_breach" if breach else "sla_warning", "critical" if breach else "warning",
                               title, msg, datetime.combine(day, time(), UTC), source,
                               {"day": day.isoformat(), "metrics": [
                                   {k: (v.isoformat() if isinstance(v, (date, datetime)) else v)
                                    for k, v in r.items()} for r in metrics]}))
    return specs


def _day(v) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def data_quality_spec(agent_id: str, day: date, failed: int, total: int, problems: Sequence[str],
                      source: str = "sla_sensor") -> AlertSpec:
    share = failed / total if total else 1.0
    return AlertSpec(agent_id, "data_quality", "critical" if share >= DQ_CRITICAL_SHARE else "warning",
                     f"data quality: {failed} of {total} execution records rejected on {day.isoformat()}",
                     "Rejected records never reach the metrics:\n" + "\n".join(f"- {p}" for p in problems[:10]),
                     datetime.combine(day, time(), UTC), source,
                     {"day": day.isoformat(), "failed": failed, "total": total, "problems": list(problems[:20])})


def run_failure_spec(job_name: str, run_id: str, error: str | None, failed_at: datetime,
                     partition: str | None = None) -> AlertSpec:
    where = f" (partition {partition})" if partition else ""
    return AlertSpec(f"job:{job_name}", "run_failure", "warning", f"Dagster run of {job_name}{where} failed",
                     f"Run {run_id} of {job_name}{where} failed: {error or 'no error message'}. "
                     f"Open it in the Dagster UI (Runs → {run_id[:8]}) for the step logs.",
                     failed_at, "run_failure_sensor", {"run_id": run_id, "job": job_name, "partition": partition})
