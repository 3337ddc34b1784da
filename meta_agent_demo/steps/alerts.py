"""Demo step 3: health, circuit breakers and alerts over the demo window.

The fleet's data ends yesterday, so evaluating "now" would only say that nobody logs today.
So the step replays the health sensor: ``monitor.tick`` — the code the 30-second
``agent_health_sensor`` runs — as of every 30 minutes over the window's last 7 days (where
every injected incident lives), not as of the incident times (the demo must not know them).
Circuit breakers count every execution in order, so the replay's step changes when health
is *seen*, never the circuit transitions. Then the SLA verdicts and data-quality results of
the agent_ops step become alerts (the ``sla_alert_sensor``'s function, for the window's
days), the ``alert_delivery`` job sends every alert through the log notifier, the
``alert_digest`` job builds the window's digests and ``fleet_health`` the overview.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from meta_agent import config
from meta_agent.cli.output import table
from meta_agent.fleet import default_incidents, fleet
from meta_agent.fleet.incidents import Incident
from meta_agent.ops import alerts, monitor
from meta_agent.ops.notifiers import NotifierSettings, build_notifier
from meta_agent.store.engine import engine_for
from meta_agent_demo.context import DemoContext
from meta_agent_demo.jobs import materialization_metadata, run_job

REPLAY_DAYS = 7
STEP = timedelta(minutes=30)

# the alerts each incident should raise: (type, finding kinds that explain it)
EXPECTED = {
    "outage": (("health_critical", {"failure_rate", "new_error"}), ("circuit_open", None)),
    "new_error_type": (("health_degraded", {"new_error", "failure_rate"}),),
    "latency_regression": (("health_degraded", {"latency"}),),
    "cost_spike": (("health_degraded", {"cost"}),),
}


def _kinds(alert: dict) -> set[str]:
    return {f["kind"] for f in (alert.get("details") or {}).get("findings", [])}


def _label(alert: dict) -> str:
    kinds = ",".join(sorted(_kinds(alert)))
    return (f"#{alert['alert_id']} {alert['alert_type']}" + (f" ({kinds})" if kinds else "")
            + f" {alert['triggered_at']:%m-%d %H:%M} {alert['severity']}")


def match_incidents(incidents: list[Incident], raised: list[dict], window_end: datetime) -> list[dict]:
    """For each incident: the alerts of its agent while it was active, and whether the ones
    it should cause are there."""
    out = []
    for inc in incidents:
        start = datetime.combine(inc.day, datetime.min.time(), UTC)
        end = start + timedelta(days=1) if inc.kind in ("outage", "cost_spike") else window_end
        mine = [a for a in raised if a["agent_id"] == inc.agent_id and start <= a["triggered_at"] < end]
        found = [any(a["alert_type"] == t and (k is None or _kinds(a) & k) for a in mine) for t, k in EXPECTED[inc.kind]]
        out.append({"incident": inc.describe(), "kind": inc.kind, "agent_id": inc.agent_id, "found": all(found),
                    "expected": [t for t, _ in EXPECTED[inc.kind]],
                    "alerts": [_label(a) for a in sorted(mine, key=lambda a: a["triggered_at"])]})
    return out


def _days(first, last) -> list:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def run(ctx: DemoContext) -> None:
    o = ctx.options
    engine = engine_for(config.db_url())
    log_path = config.artifacts_dir() / "alerts" / "notifications.jsonl"
    logging.getLogger("meta_agent.alerts").addHandler(logging.NullHandler())  # the JSONL file is the record
    notifier = build_notifier(NotifierSettings(channels="log", log_path=str(log_path)))
    first = max(o.start, o.end - timedelta(days=REPLAY_DAYS - 1))
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(o.end + timedelta(days=1), datetime.min.time(), UTC) - timedelta(microseconds=1)

    t0 = time.perf_counter()
    with ctx.progress() as bar:
        task = bar.add_task("replay the health sensor every 30 min", total=1)
        reports = monitor.replay(engine, start, end, STEP, notifier=notifier, source="demo_replay")
        bar.update(task, completed=1)
    replay_s = time.perf_counter() - t0

    sla = monitor.sync_ops_alerts(engine, days=_days(o.start, o.end), notifier=notifier)  # the sla_alert_sensor's work
    delivered = run_job(ctx, "alert_delivery", "alert_delivery: send every due alert")
    delivery = delivered.output_for_node("deliver_due_alerts") if delivered.success else {"sent": 0, "failed": -1}
    run_job(ctx, "alert_digests", "alert_digests: the window's daily digests",
            partition_range=(o.start.isoformat(), o.end.isoformat()))
    overview = materialization_metadata(run_job(ctx, "fleet_health_refresh", "fleet_health_refresh: the fleet at a glance"),
                                        "fleet_health")

    with engine.connect() as conn:
        raised = alerts.list_alerts(conn, status="all", since=datetime.combine(o.start, datetime.min.time(), UTC),
                                    limit=10_000)
        still_open = alerts.list_alerts(conn, status="open", limit=10_000)
    incidents = default_incidents([p.agent_id for p in fleet(o.agents)], o.end, o.days)
    found = match_incidents(incidents, raised, end)
    ticks = len(reports)
    h_trans = sum(len(r.health_transitions) for r in reports)
    c_trans = sum(len(r.circuit_transitions) for r in reports)
    by_type = Counter(a["alert_type"] for a in raised)
    ctx.summary["alerts"] = {
        "replay": {"from": start.isoformat(), "to": end.isoformat(), "step_minutes": STEP.total_seconds() / 60,
                   "ticks": ticks, "seconds": round(replay_s, 2),
                   "ms_per_tick": round(1000 * replay_s / max(ticks, 1), 1)},
        "health_transitions": h_trans,
        "circuit_transitions": c_trans,
        "alerts": dict(sorted(by_type.items())),
        "sla_and_quality": sla.as_dict(),
        "delivery": delivery,
        "fleet_health": {k: overview[0][k] for k in ("healthy", "degraded", "critical", "open_critical_alerts",
                                                     "incident_lines", "breaches_without_alert")} if overview else None,
        "notifications_file": str(log_path),
        "incidents": found,
        "incidents_found": sum(f["found"] for f in found),
        "open_alerts": [{k: a[k] for k in ("alert_id", "agent_id", "alert_type", "severity", "triggered_at",
                                           "occurrences", "title")} for a in still_open],
    }
    ctx.sections.append(table(
        f"incidents → alerts ({sum(f['found'] for f in found)} of {len(found)} found); health sensor replayed "
        f"every 30 min over {first} .. {o.end}: {ticks} ticks in {replay_s:.1f}s, {h_trans} health and "
        f"{c_trans} circuit transitions",
        ["incident", "should raise", "alerts raised while it was active"],
        [(f["incident"], " + ".join(f["expected"]) + (" ✓" if f["found"] else " — NOT FOUND"),
          "\n".join(f["alerts"]) or "none") for f in found]))
    ctx.sections.append(table(
        f"open alerts: {len(still_open)} (of {len(raised)} raised since {o.start}: "
        + ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) + ")",
        ["id", "triggered (UTC)", "agent", "type", "severity", "seen", "title"],
        [(a["alert_id"], f"{a['triggered_at']:%Y-%m-%d %H:%M}", a["agent_id"], a["alert_type"], a["severity"],
          a["occurrences"], a["title"]) for a in still_open]))
    ctx.sections.append(f"notifications: {delivery['sent']} delivered by the alert_delivery job through the log "
                        f"notifier → {log_path}" + (f" ({delivery['failed']} failed, will be retried)"
                                                     if delivery["failed"] else ""))
    if overview:
        f = overview[0]
        ctx.sections.append(f"fleet_health: {f['healthy']} healthy, {f['degraded']} degraded, {f['critical']} critical; "
                            f"{f['open_critical_alerts']} open critical alerts; {f['incident_lines']} incident lines "
                            f"(seen → breached → alerted), {f['breaches_without_alert']} breaches without an alert")
    ctx.next_steps.append(f"meta-agent alerts list   (ack/resolve: meta-agent alerts ack ID; "
                          f"health as of a past time: meta-agent health --as-of {o.end}T12:00)")
