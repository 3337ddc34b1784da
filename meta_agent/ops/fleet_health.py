"""The fleet at a glance: each agent's status, what went wrong recently and what it raised.

``fleet_health(conn, last_day, days)`` answers the Monday-morning questions from what the
monitors stored: per agent its health and circuit now, SLA breaches and open alerts; per
agent-day in the window an *incident line* — the health findings seen that day, the SLA
metrics breached (with budget used) and the alerts raised (type, severity, state) — so a
breach is never shown apart from the alert it caused; and open alerts by severity.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from meta_agent.ops.sla import SHORT
from meta_agent.store.schema_ops_alerts import agent_health, alerts, circuit_breakers
from meta_agent.store.schema_ops_metrics import sla_evaluations

OPEN = ("open", "acknowledged")
SEVERITY_ORDER = ("emergency", "critical", "warning", "info")


@dataclass
class FleetHealth:
    first_day: date
    last_day: date
    agents: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    open_by_severity: dict[str, int] = field(default_factory=dict)

    @property
    def open_critical(self) -> int:
        return self.open_by_severity.get("critical", 0) + self.open_by_severity.get("emergency", 0)

    def status_counts(self) -> dict[str, int]:
        return dict(Counter(a["health"] for a in self.agents))


def fleet_health(conn: sa.Connection, last_day: date | None = None, days: int = 7) -> FleetHealth:
    """The window ends on ``last_day`` (default: the last day with SLA verdicts, else yesterday)."""
    if last_day is None:
        latest = conn.execute(sa.select(sa.func.max(sla_evaluations.c.day))).scalar()
        last_day = _day(latest) if latest else datetime.now(UTC).date() - timedelta(days=1)
    first = last_day - timedelta(days=days - 1)
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), UTC)
    health = {r.agent_id: r for r in conn.execute(sa.select(agent_health))}
    circuits = {r.agent_id: r for r in conn.execute(sa.select(circuit_breakers))}
    a = alerts.c
    raised = [dict(r._mapping) for r in conn.execute(
        sa.select(a.alert_id, a.agent_id, a.alert_type, a.severity, a.status, a.triggered_at, a.details)
        .where(a.triggered_at >= start, a.triggered_at < end).order_by(a.triggered_at))]
    still_open = [dict(r._mapping) for r in conn.execute(
        sa.select(a.agent_id, a.severity).where(a.status.in_(OPEN)))]
    s = sla_evaluations.c
    breaches = [dict(r._mapping) for r in conn.execute(
        sa.select(s.day, s.agent_id, s.metric, s.consumed)
        .where(s.day >= first, s.day <= last_day, s.status == "breach").order_by(s.day, s.agent_id))]

    out = FleetHealth(first, last_day)
    sev = Counter(r["severity"] for r in still_open)
    out.open_by_severity = {k: sev[k] for k in SEVERITY_ORDER if sev[k]}
    open_by_agent = Counter(r["agent_id"] for r in still_open)
    breach_days = defaultdict(set)
    for b in breaches:
        breach_days[b["agent_id"]].add(_day(b["day"]))
    for agent in sorted(set(health) | set(circuits) | {b["agent_id"] for b in breaches}):
        h, c = health.get(agent), circuits.get(agent)
        out.agents.append({
            "agent": agent, "health": h.status if h else "unknown", "reason": h.reason if h else "",
            "since": h.since if h else None, "circuit": (c.override or c.state) if c else "closed",
            "breach_days": len(breach_days[agent]), "open_alerts": open_by_agent[agent]})
    out.agents.sort(key=lambda r: (_rank(r["health"]), -r["breach_days"], r["agent"]))
    out.incidents = _incident_lines(breaches, raised)
    return out


def _incident_lines(breaches: list[dict], raised: list[dict]) -> list[dict]:
    """One line per (agent, day) with a breach or an alert: what was seen → breached → raised."""
    by_key: dict[tuple[str, date], dict] = {}

    def line(agent: str, day: date) -> dict:
        return by_key.setdefault((agent, day), {"day": day, "agent": agent, "findings": set(),
                                                "breaches": [], "alerts": []})

    for b in breaches:
        line(b["agent_id"], _day(b["day"]))["breaches"].append(f"{SHORT.get(b['metric'], b['metric'])} {b['consumed']:.0%}")
    for r in raised:
        entry = line(r["agent_id"], r["triggered_at"].astimezone(UTC).date())
        entry["findings"].update(f["kind"] for f in (r.get("details") or {}).get("findings", []))
        entry["alerts"].append(f"#{r['alert_id']} {r['alert_type']} ({r['severity']}, {r['status']})")
    rows = []
    for (agent, day), e in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0]), reverse=True):
        rows.append({"day": day.isoformat(), "agent": agent, "seen": ", ".join(sorted(e["findings"])),
                     "breached": ", ".join(e["breaches"]), "alerts": "; ".join(e["alerts"]),
                     "alerted": bool(e["alerts"])})
    return rows


def _rank(status: str) -> int:
    return {"critical": 0, "degraded": 1, "unknown": 2, "healthy": 3}.get(status, 2)


def _day(v) -> date:
    return date.fromisoformat(v) if isinstance(v, str) else v
