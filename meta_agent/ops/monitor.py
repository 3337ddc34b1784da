"""One monitoring tick: health + circuits as of T, alerts raised and resolved, deliveries sent.

The health sensor calls ``tick`` every 30 s with T = now; the demo and tests call it with
historical T (``replay`` steps through a period), and get the same answers the sensor would
have given at those times.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from meta_agent.ops import alert_rules, alerts, circuit, health
from meta_agent.ops.monitoring_config import MonitoringConfig
from meta_agent.ops.monitoring_config import load as load_config
from meta_agent.store.schema_ops_alerts import agent_health
from meta_agent.store.schema_ops_alerts import alerts as alerts_table
from meta_agent.store.schema_ops_metrics import (
    data_quality_results,
    execution_rejections,
    sla_evaluations,
)


@dataclass
class TickReport:
    as_of: datetime
    health: list[health.AgentHealth] = field(default_factory=list)
    health_transitions: list[health.HealthTransition] = field(default_factory=list)
    circuits: list[circuit.CircuitState] = field(default_factory=list)
    circuit_transitions: list[circuit.CircuitTransition] = field(default_factory=list)
    alerts_created: list[int] = field(default_factory=list)
    alerts_deduplicated: int = 0
    alerts_resolved: list[int] = field(default_factory=list)
    delivery: alerts.DeliveryReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        count = lambda xs: {s: sum(1 for x in xs if x == s) for s in sorted(set(xs))}  # noqa: E731
        return {
            "as_of": self.as_of.isoformat(),
            "agents": len(self.health),
            "health": count([h.status for h in self.health]),
            "circuits": count([c.effective for c in self.circuits]),
            "health_transitions": len(self.health_transitions),
            "circuit_transitions": len(self.circuit_transitions),
            "alerts_created": len(self.alerts_created),
            "alerts_deduplicated": self.alerts_deduplicated,
            "alerts_resolved": len(self.alerts_resolved),
            "delivery": self.delivery.as_dict() if self.delivery else None,
            "seconds": self.seconds,
        }


def tick(engine: sa.Engine, as_of: datetime | None = None, *, monitoring: MonitoringConfig | None = None,
         notifier=None, deliver: bool = True, cache: health.BaselineCache | None = None,
         source: str = "health_sensor", now: datetime | None = None) -> TickReport:
    """Evaluate every active agent as of ``as_of`` (default now), record health and circuit
    transitions, raise/resolve alerts (deduplicated by the database) and, with a notifier,
    deliver what is due."""
    now = now or datetime.now(UTC)
    as_of = (as_of or now).astimezone(UTC)
    cfg = monitoring or load_config()
    report = TickReport(as_of)
    t0 = _time.perf_counter()
    with engine.connect() as conn:
        inputs = health.load_inputs(conn, as_of, cfg.health_rules, cache=cache)
        # agents already evaluated at or after as_of (a replay of the past, a racing tick):
        # their alerts were raised then; evaluating them again must not raise or resolve anything
        stale = _evaluated_since(conn, as_of)
    report.health = [health.evaluate(i, cfg.health_rules(i.agent_id)) for i in inputs]
    t1 = _time.perf_counter()
    report.seconds["health"] = round(t1 - t0, 4)
    ids = [h.agent_id for h in report.health]
    with engine.begin() as conn:
        report.health_transitions = health.record(conn, report.health, now)
        report.circuits, report.circuit_transitions = circuit.evaluate(conn, as_of, cfg.circuit_config, ids, now)
        t2 = _time.perf_counter()
        report.seconds["circuits"] = round(t2 - t1, 4)
        by_agent: dict[str, list[circuit.CircuitTransition]] = {}
        for t in report.circuit_transitions:
            by_agent.setdefault(t.agent_id, []).append(t)
        since = _status_since(conn, ids)
        open_kinds = _open_alert_kinds(conn, ids)
        for h, c in zip(report.health, report.circuits, strict=True):
            if h.agent_id in stale:
                continue
            specs = alert_rules.health_specs(h, source) + alert_rules.circuit_specs(c, by_agent.get(c.agent_id, []),
                                                                                   as_of, source)
            raise_specs(conn, specs, notifier, now, report)
            # hysteresis: health alerts resolve once the better status has held for a while
            held = since.get(h.agent_id, as_of)
            recovered = (as_of - held).total_seconds() >= cfg.health_rules(h.agent_id).recovery_seconds
            cleared = [k for k in (alert_rules.health_resolutions(h) if recovered else [])
                       if (h.agent_id, k) in open_kinds]
            if cleared:
                report.alerts_resolved += alerts.auto_resolve(conn, h.agent_id, cleared, as_of,
                                                              f"health is {h.status} again: {h.reason}", now)
            if alert_rules.circuit_clears(c) and (c.agent_id, "circuit_open") in open_kinds:
                report.alerts_resolved += alerts.auto_resolve(conn, c.agent_id, ["circuit_open"], as_of,
                                                              f"circuit {c.effective}: {c.reason}", now)
        report.seconds["alerts"] = round(_time.perf_counter() - t2, 4)
    if deliver and notifier is not None:
        t3 = _time.perf_counter()
        report.delivery = alerts.deliver_due(engine, notifier, now)
        report.seconds["delivery"] = round(_time.perf_counter() - t3, 4)
    report.seconds["total"] = round(_time.perf_counter() - t0, 4)
    return report


def _evaluated_since(conn: sa.Connection, as_of: datetime) -> set[str]:
    q = sa.select(agent_health.c.agent_id).where(agent_health.c.evaluated_at >= as_of)
    return set(conn.execute(q).scalars())


def _status_since(conn: sa.Connection, ids: Sequence[str]) -> dict[str, datetime]:
    q = sa.select(agent_health.c.agent_id, agent_health.c.since).where(agent_health.c.agent_id.in_(list(ids)))
    return dict(conn.execute(q).all())


def _open_alert_kinds(conn: sa.Connection, ids: Sequence[str]) -> set[tuple[str, str]]:
    """(agent, type) of the open or acknowledged state alerts (only those can need resolving)."""
    a = alerts_table.c
    q = (sa.select(a.agent_id, a.alert_type).distinct()
         .where(a.agent_id.in_(list(ids)), a.status.in_(alerts.OPEN_STATUSES),
                a.alert_type.in_(sorted(alerts.STATE_TYPES))))
    return {(r[0], r[1]) for r in conn.execute(q)}


def raise_specs(conn: sa.Connection, specs: Sequence[alerts.AlertSpec], notifier, now: datetime,
                report: TickReport | None = None) -> list[alerts.RaiseResult]:
    """Raise each spec with a pending delivery on every channel its severity reaches."""
    out = []
    for spec in specs:
        channels = notifier.channels_for(spec.severity) if notifier is not None else ()
        r = alerts.raise_alert(conn, spec, channels, now)
        out.append(r)
        if report is not None:
            if r.created:
                report.alerts_created.append(r.alert_id)
            else:
                report.alerts_deduplicated += 1
    return out


def replay(engine: sa.Engine, start: datetime, end: datetime, step: timedelta, **kw) -> list[TickReport]:
    """``tick`` at start, start+step, … ≤ end (without delivering; call ``alerts.deliver_due``
    after). One baseline cache serves the whole replay."""
    kw.setdefault("cache", health.BaselineCache())
    kw.setdefault("monitoring", load_config())
    reports = []
    t = start
    while t <= end:
        reports.append(tick(engine, t, deliver=False, **kw))
        t += step
    return reports


# ---- results computed elsewhere, turned into alerts ------------------------------------
OVERLAP = timedelta(minutes=15)  # re-read this much before the cursor: late commits are not missed
FIRST_LOOKBACK = timedelta(days=2)  # without a cursor (first run): older verdicts are history, not news


@dataclass
class SyncResult:
    cursor: dict[str, datetime]
    sla_rows: int = 0
    quality_days: int = 0
    created: list[int] = field(default_factory=list)
    deduplicated: int = 0

    def as_dict(self) -> dict:
        return {"sla_rows": self.sla_rows, "quality_days": self.quality_days, "created": len(self.created),
                "deduplicated": self.deduplicated, "cursor": {k: v.isoformat() for k, v in self.cursor.items()}}


def sync_ops_alerts(engine: sa.Engine, since: dict[str, datetime] | None = None, *, notifier=None,
                    days: Sequence[date] | None = None, now: datetime | None = None) -> SyncResult:
    """Raise sla_warning/sla_breach alerts for SLA verdicts and data_quality alerts for days
    whose slice had rejected rows — those written after ``since`` (a cursor per source, minus
    a 15-minute overlap; the dedup key makes re-reading harmless; a source without a cursor
    looks back two days, so a first deployment does not page a year of history), or those
    of ``days``."""
    now = now or datetime.now(UTC)
    given = dict(since or {})
    result = SyncResult(cursor=dict(given))
    since = {k: given.get(k, now - FIRST_LOOKBACK + OVERLAP) for k in ("sla", "quality")}
    ev, dq, rj = sla_evaluations.c, data_quality_results.c, execution_rejections.c
    with engine.connect() as conn:
        q = sa.select(sla_evaluations).where(ev.status.in_(("warn", "breach")))
        if days is not None:
            q = q.where(ev.day.in_(list(days)))
        else:
            q = q.where(ev.evaluated_at > since["sla"] - OVERLAP)
        sla_rows = [dict(r._mapping) for r in conn.execute(q)]
        latest = conn.execute(sa.select(sa.func.max(ev.evaluated_at))).scalar()
        q = sa.select(data_quality_results).where(dq.rows_rejected > 0)
        if days is not None:
            q = q.where(dq.day.in_(list(days)))
        else:
            q = q.where(dq.checked_at > since["quality"] - OVERLAP)
        quality_rows = [dict(r._mapping) for r in conn.execute(q)]
        latest_dq = conn.execute(sa.select(sa.func.max(dq.checked_at))).scalar()
        by_agent: dict[date, dict[str, list[dict]]] = {}  # day → agent → rejections
        if quality_rows:
            q = sa.select(rj.day, rj.agent_id, rj.expectation, rj.execution_id, rj.detail).where(
                rj.day.in_([r["day"] for r in quality_rows]))
            for r in conn.execute(q):
                by_agent.setdefault(r.day, {}).setdefault((r.agent_id or "").strip() or "(no agent id)", []).append(
                    dict(r._mapping))
    specs = alert_rules.sla_specs(sla_rows)
    for row in quality_rows:
        for agent, rejected in sorted(by_agent.get(row["day"], {}).items()):
            ids = {r["execution_id"] for r in rejected}
            problems = [f"{r['execution_id']}: {r['expectation']}" + (f" ({r['detail']})" if r["detail"] else "")
                        for r in rejected]
            specs.append(alert_rules.data_quality_spec(agent, row["day"], len(ids), row["rows_checked"], problems))
    with engine.begin() as conn:
        for spec in specs:
            channels = notifier.channels_for(spec.severity) if notifier is not None else ()
            r = alerts.raise_alert(conn, spec, channels, now, count_repeat=False)
            if r.created:
                result.created.append(r.alert_id)
            else:
                result.deduplicated += 1
    result.sla_rows, result.quality_days = len(sla_rows), len(quality_rows)
    if latest is not None:
        result.cursor["sla"] = max(latest, given.get("sla", latest))
    if latest_dq is not None:
        result.cursor["quality"] = max(latest_dq, given.get("quality", latest_dq))
    return result


def raise_run_failure(engine: sa.Engine, spec: alerts.AlertSpec, notifier=None,
                      now: datetime | None = None) -> alerts.RaiseResult:
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        return raise_specs(conn, [spec], notifier, now)[0]
