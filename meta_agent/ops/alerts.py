"""Alerts: raised at most once per (agent, type, 1-hour window), delivered, acknowledged, resolved.

**Deduplication is the database's job.** ``window_start`` is the triggering time floored to
the hour; ``alerts`` has a unique key on (agent_id, alert_type, window_start) and
``raise_alert`` inserts with ``ON CONFLICT DO NOTHING``. However many evaluators race, one
row exists per window; the losers count themselves in ``occurrences``.

**Ongoing conditions fold.** Health and circuit alerts describe a state that lasts
(``STATE_TYPES``): while an alert of that agent and type is still open or acknowledged,
a new trigger bumps its ``occurrences``/``last_seen_at`` instead of paging again, and it is
resolved automatically when the condition clears. Event alerts (SLA verdicts, data
quality, run failures) get one alert per window.

**Delivery never loses an alert.** The alert and one ``alert_deliveries`` row per channel
are written in the same transaction; ``deliver_due`` claims due rows with a conditional
update (two senders never both send), sends, and records success or the error with the
next attempt time (exponential backoff up to an hour, or the server's Retry-After).
"""

from __future__ import annotations

import getpass
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meta_agent.errors import InputError
from meta_agent.ops.notifiers import Notification
from meta_agent.reporting import markdown_table
from meta_agent.store.schema_ops_alerts import (
    ALERT_STATUSES,
    ALERT_TYPES,
    SEVERITIES,
    alert_deliveries,
    alert_digests,
    alerts,
)

STATE_TYPES = frozenset({"health_degraded", "health_critical", "circuit_open"})
OPEN_STATUSES = ("open", "acknowledged")
WINDOW = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)


def window_start(t: datetime) -> datetime:
    """The 1-hour dedup window an alert triggered at ``t`` belongs to."""
    t = t.astimezone(UTC)
    return t.replace(minute=0, second=0, microsecond=0)


def current_user() -> str:
    try:
        return os.environ.get("META_AGENT_USER") or getpass.getuser()
    except Exception:  # no passwd entry (containers): still say something useful
        return "unknown"


@dataclass(frozen=True)
class AlertSpec:
    agent_id: str
    alert_type: str
    severity: str
    title: str
    message: str
    triggered_at: datetime
    source: str
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.alert_type not in ALERT_TYPES:
            raise ValueError(f"unknown alert type {self.alert_type!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")


@dataclass(frozen=True)
class RaiseResult:
    alert_id: int
    created: bool  # False: deduplicated into an existing alert


def _dialect(conn: sa.Connection):
    return sqlite if conn.dialect.name == "sqlite" else postgresql


def raise_alert(conn: sa.Connection, spec: AlertSpec, channels: Sequence[str] = (),
                now: datetime | None = None, *, count_repeat: bool = True) -> RaiseResult:
    """Record ``spec`` unless its (agent, type, window) — or, for a state type, an open alert
    of that agent and type — already exists; a new alert gets a pending delivery per channel.
    A repeat bumps the existing alert's ``occurrences`` unless ``count_repeat`` is False (for
    sources that re-read the same verdicts, such as the SLA sensor's overlap).

    Every statement here writes first and reads only what it wrote, so on SQLite the
    transaction takes the write lock at its first statement (no stale-snapshot upgrade) and
    on PostgreSQL the unique key arbitrates.
    """
    now = now or datetime.now(UTC)
    a = alerts.c
    window = window_start(spec.triggered_at)
    bump = {"occurrences": a.occurrences + 1,
            "last_seen_at": sa.case((a.last_seen_at < spec.triggered_at, spec.triggered_at), else_=a.last_seen_at)}
    if spec.alert_type in STATE_TYPES:
        latest_open = (sa.select(sa.func.max(a.alert_id))
                       .where(a.agent_id == spec.agent_id, a.alert_type == spec.alert_type,
                              a.status.in_(OPEN_STATUSES), a.window_start <= window)
                       .scalar_subquery())
        folded = conn.execute(alerts.update().where(a.alert_id == latest_open).values(**bump)
                              .returning(a.alert_id)).scalar()
        if folded is not None:
            return RaiseResult(int(folded), False)
    row = {"agent_id": spec.agent_id, "alert_type": spec.alert_type, "window_start": window,
           "severity": spec.severity, "status": "open", "title": spec.title[:512], "message": spec.message,
           "details": spec.details or None, "source": spec.source, "triggered_at": spec.triggered_at,
           "last_seen_at": spec.triggered_at, "occurrences": 1, "created_at": now}
    new_id = conn.execute(_dialect(conn).insert(alerts).values(**row).on_conflict_do_nothing()
                          .returning(a.alert_id)).scalar()
    if new_id is not None:
        if channels:
            conn.execute(alert_deliveries.insert(), [
                {"alert_id": new_id, "channel": c, "status": "pending", "attempts": 0, "next_attempt_at": now,
                 "created_at": now} for c in channels])
        return RaiseResult(int(new_id), True)
    key = (a.agent_id == spec.agent_id, a.alert_type == spec.alert_type, a.window_start == window)
    if count_repeat:
        existing = conn.execute(alerts.update().where(*key).values(**bump).returning(a.alert_id)).scalar()
    else:
        existing = conn.execute(sa.select(a.alert_id).where(*key)).scalar()
    return RaiseResult(int(existing), False)


def auto_resolve(conn: sa.Connection, agent_id: str, alert_types: Sequence[str], at: datetime,
                 note: str, now: datetime | None = None) -> list[int]:
    """Resolve the open alerts of these types for this agent (the condition cleared at ``at``)."""
    a = alerts.c
    ids = conn.execute(
        alerts.update()
        .where(a.agent_id == agent_id, a.alert_type.in_(list(alert_types)), a.status.in_(OPEN_STATUSES),
               a.triggered_at <= at)
        .values(status="resolved", resolved_at=at, resolved_by="auto", note=note)
        .returning(a.alert_id)).scalars().all()
    return [int(i) for i in ids]


# ---- people: list, acknowledge, resolve -------------------------------------------------
def list_alerts(conn: sa.Connection, *, status: str = "open", agent_id: str | None = None,
                alert_type: str | None = None, min_severity: str | None = None, since: datetime | None = None,
                until: datetime | None = None, limit: int = 100) -> list[dict]:
    """Alerts newest first; ``status`` is open (open or acknowledged), acknowledged, resolved or all."""
    a = alerts.c
    if status not in (*ALERT_STATUSES, "all"):
        raise InputError(f"--status '{status}': use one of open, acknowledged, resolved, all.")
    if alert_type is not None and alert_type not in ALERT_TYPES:
        raise InputError(f"--type '{alert_type}': use one of {', '.join(ALERT_TYPES)}.")
    if min_severity is not None and min_severity not in SEVERITIES:
        raise InputError(f"--severity '{min_severity}': use one of {', '.join(SEVERITIES)}.")
    q = sa.select(alerts)
    if status == "open":
        q = q.where(a.status.in_(OPEN_STATUSES))
    elif status != "all":
        q = q.where(a.status == status)
    if agent_id:
        q = q.where(a.agent_id == agent_id)
    if alert_type:
        q = q.where(a.alert_type == alert_type)
    if min_severity:
        q = q.where(a.severity.in_(SEVERITIES[SEVERITIES.index(min_severity):]))
    if since:
        q = q.where(a.triggered_at >= since)
    if until:
        q = q.where(a.triggered_at < until)
    rows = [dict(r._mapping) for r in conn.execute(q.order_by(a.triggered_at.desc(), a.alert_id.desc()).limit(limit))]
    _attach_deliveries(conn, rows)
    return rows


def _attach_deliveries(conn: sa.Connection, rows: list[dict]) -> None:
    if not rows:
        return
    d = alert_deliveries.c
    by_alert: dict[int, list[dict]] = {}
    q = (sa.select(d.alert_id, d.channel, d.status, d.attempts, d.last_error, d.sent_at, d.next_attempt_at)
         .where(d.alert_id.in_([r["alert_id"] for r in rows])).order_by(d.channel))
    for r in conn.execute(q):
        by_alert.setdefault(r.alert_id, []).append({k: v for k, v in r._mapping.items() if k != "alert_id"})
    for r in rows:
        r["deliveries"] = by_alert.get(r["alert_id"], [])


def get_alert(conn: sa.Connection, alert_id: int) -> dict | None:
    row = conn.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id)).first()
    if row is None:
        return None
    out = [dict(row._mapping)]
    _attach_deliveries(conn, out)
    return out[0]


def acknowledge(conn: sa.Connection, alert_id: int, by: str, note: str | None = None,
                now: datetime | None = None) -> dict:
    """open → acknowledged (someone is on it; folding stops nothing, paging again does)."""
    now = now or datetime.now(UTC)
    a = alerts.c
    values = {"status": "acknowledged", "acknowledged_at": now, "acknowledged_by": by}
    if note:
        values["note"] = note
    done = conn.execute(alerts.update().where(a.alert_id == alert_id, a.status == "open").values(**values)).rowcount
    if not done:
        _explain(conn, alert_id, "acknowledge")
    return get_alert(conn, alert_id)


def resolve(conn: sa.Connection, alert_id: int, by: str, note: str | None = None,
            now: datetime | None = None) -> dict:
    """open/acknowledged → resolved."""
    now = now or datetime.now(UTC)
    a = alerts.c
    values = {"status": "resolved", "resolved_at": now, "resolved_by": by}
    if note:
        values["note"] = note
    done = conn.execute(alerts.update().where(a.alert_id == alert_id, a.status.in_(OPEN_STATUSES))
                        .values(**values)).rowcount
    if not done:
        _explain(conn, alert_id, "resolve")
    return get_alert(conn, alert_id)


def _explain(conn: sa.Connection, alert_id: int, verb: str) -> None:
    cur = get_alert(conn, alert_id)
    if cur is None:
        raise InputError(f"there is no alert {alert_id}; `meta-agent alerts list --status all` shows the ids.")
    if cur["status"] == "resolved":
        raise InputError(f"alert {alert_id} is already resolved (by {cur['resolved_by']} at "
                         f"{cur['resolved_at']:%Y-%m-%d %H:%M} UTC); nothing to {verb}.")
    raise InputError(f"alert {alert_id} is already acknowledged (by {cur['acknowledged_by']} at "
                     f"{cur['acknowledged_at']:%Y-%m-%d %H:%M} UTC).")


# ---- delivery ---------------------------------------------------------------------------
def notification_for(alert: dict) -> Notification:
    facts = {"Agent": alert["agent_id"], "Type": alert["alert_type"], "Severity": alert["severity"],
             "Triggered": f"{alert['triggered_at']:%Y-%m-%d %H:%M} UTC"}
    if alert.get("occurrences", 1) > 1:
        facts["Occurrences"] = str(alert["occurrences"])
    payload = {k: v for k, v in alert.items() if k != "deliveries"}
    return Notification("alert", alert["title"], alert["message"], alert["severity"], payload, facts)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # not tried: their channel already failed in this pass
    errors: list[str] = field(default_factory=list)
    channels_down: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "deferred": self.deferred, "errors": self.errors,
                "channels_down": self.channels_down}


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver_due(engine: sa.Engine, notifier, now: datetime | None = None, limit: int = 200) -> DeliveryReport:
    """Send every pending delivery whose time has come through ``notifier``; failures are
    recorded on the row and retried later. Each row is claimed first, so concurrent callers
    never send the same alert twice on a channel. A channel that fails once is not tried again
    in the same pass (its other rows are deferred by the backoff, their attempts unchanged):
    a dead webhook costs one timeout per pass, not one per alert."""
    now = now or datetime.now(UTC)
    d, a = alert_deliveries.c, alerts.c
    report = DeliveryReport()
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(d.delivery_id, d.channel, d.attempts, alerts)
            .join(alerts, a.alert_id == d.alert_id)
            .where(d.status == "pending", d.next_attempt_at <= now, d.channel.in_(notifier.names))
            .order_by(d.next_attempt_at, d.delivery_id).limit(limit)).all()
    for row in due:
        m = dict(row._mapping)
        delivery_id, channel, attempts = m.pop("delivery_id"), m.pop("channel"), m.pop("attempts")
        if channel in report.channels_down:
            with engine.begin() as conn:
                report.deferred += conn.execute(
                    alert_deliveries.update()
                    .where(d.delivery_id == delivery_id, d.status == "pending", d.attempts == attempts)
                    .values(next_attempt_at=now + backoff(attempts + 1))).rowcount
            continue
        with engine.begin() as conn:  # claim: only one caller moves attempts forward
            claimed = conn.execute(alert_deliveries.update()
                                   .where(d.delivery_id == delivery_id, d.status == "pending", d.attempts == attempts)
                                   .values(attempts=attempts + 1, next_attempt_at=now + CLAIM_LEASE)).rowcount
        if not claimed:
            continue
        try:
            notifier.send(channel, notification_for(m))
        except Exception as exc:  # any failure is recorded and retried, never raised into the sensor
            retry_after = getattr(exc, "retry_after", None)
            wait = timedelta(seconds=retry_after) if retry_after else backoff(attempts + 1)
            with engine.begin() as conn:
                conn.execute(alert_deliveries.update().where(d.delivery_id == delivery_id)
                             .values(next_attempt_at=now + wait, last_error=f"{type(exc).__name__}: {exc}"[:2000]))
            report.failed += 1
            report.errors.append(f"alert {m['alert_id']} via {channel}: {exc}")
            report.channels_down.append(channel)
            continue
        with engine.begin() as conn:
            conn.execute(alert_deliveries.update().where(d.delivery_id == delivery_id)
                         .values(status="sent", sent_at=now, last_error=None))
        report.sent += 1
    return report


def pending_deliveries(conn: sa.Connection) -> int:
    d = alert_deliveries.c
    return int(conn.execute(sa.select(sa.func.count()).where(d.status == "pending")).scalar())


@dataclass
class DueDeliveries:
    due: int  # pending and due now
    pending: int  # pending at all (some wait for their backoff)
    next_at: datetime | None  # when the next not-yet-due one comes due
    key: str  # changes whenever the due set changes (a new alert, a failed attempt)


def due_deliveries(conn: sa.Connection, channels: Sequence[str], now: datetime | None = None) -> DueDeliveries:
    """What a delivery run would send now, in one indexed query (the delivery sensor's tick)."""
    now = now or datetime.now(UTC)
    d = alert_deliveries.c
    is_due = sa.and_(d.next_attempt_at <= now, d.channel.in_(list(channels)))
    row = conn.execute(sa.select(
        sa.func.sum(sa.case((is_due, 1), else_=0)), sa.func.count(),
        sa.func.max(sa.case((is_due, d.delivery_id))), sa.func.sum(sa.case((is_due, d.attempts), else_=0)),
        sa.func.min(sa.case((sa.not_(is_due), d.next_attempt_at)))).where(d.status == "pending")).one()
    due, pending, last_id, attempts, next_at = row
    if isinstance(next_at, str):  # SQLite returns an aggregate of a typed column as text
        next_at = datetime.fromisoformat(next_at).replace(tzinfo=UTC)
    return DueDeliveries(int(due or 0), int(pending or 0), next_at, f"{last_id or 0}-{int(attempts or 0)}")


# ---- daily digest -----------------------------------------------------------------------
@dataclass
class Digest:
    day: date
    alerts: list[dict]
    open_alerts: int
    markdown: str

    @property
    def by_severity(self) -> dict[str, int]:
        c = Counter(r["severity"] for r in self.alerts)
        return {s: c[s] for s in SEVERITIES if c[s]}


def build_digest(conn: sa.Connection, day: date) -> Digest:
    """Markdown summary of the alerts triggered on ``day`` (UTC): counts by severity and type,
    per agent, each alert with its state, and how fast people acknowledged and resolved."""
    start = datetime.combine(day, time(), UTC)
    rows = list_alerts(conn, status="all", since=start, until=start + timedelta(days=1), limit=100_000)
    rows.sort(key=lambda r: (r["triggered_at"], r["alert_id"]))
    open_now = sum(1 for r in rows if r["status"] in OPEN_STATUSES)
    lines = [f"# meta-agent alerts — {day.isoformat()}", ""]
    if not rows:
        lines.append("No alerts were raised on this day.")
        return Digest(day, rows, 0, "\n".join(lines))
    sev = Counter(r["severity"] for r in rows)
    lines.append(f"**{len(rows)} alerts** ({', '.join(f'{sev[s]} {s}' for s in reversed(SEVERITIES) if sev[s])}); "
                 f"**{open_now} still open**.")
    lines += ["", "## By agent and type", ""]
    pivot: dict[tuple[str, str], int] = Counter((r["agent_id"], r["alert_type"]) for r in rows)
    lines.append(markdown_table([{"agent": a, "type": t, "alerts": n} for (a, t), n in sorted(pivot.items())]))
    lines += ["", "## Alerts", ""]
    lines.append(markdown_table([
        {"id": r["alert_id"], "time": f"{r['triggered_at']:%H:%M}", "agent": r["agent_id"], "type": r["alert_type"],
         "severity": r["severity"], "status": r["status"], "title": r["title"], "seen": r["occurrences"]}
        for r in rows], max_rows=200))
    ack = [(r["acknowledged_at"] - r["triggered_at"]).total_seconds() / 60 for r in rows if r["acknowledged_at"]]
    res = [(r["resolved_at"] - r["triggered_at"]).total_seconds() / 60 for r in rows if r["resolved_at"]]
    lines += ["", "## Response", ""]
    lines.append(f"- acknowledged: {len(ack)}" + (f", median {sorted(ack)[len(ack) // 2]:.0f} min" if ack else ""))
    lines.append(f"- resolved: {len(res)}" + (f", median {sorted(res)[len(res) // 2]:.0f} min" if res else ""))
    return Digest(day, rows, open_now, "\n".join(lines))


def write_digest(conn: sa.Connection, digest: Digest, path: str | None, delivered_to: list[str],
                 errors: list[str], now: datetime | None = None) -> None:
    """Replace the day's digest row (idempotent)."""
    conn.execute(alert_digests.delete().where(alert_digests.c.day == digest.day))
    conn.execute(alert_digests.insert().values(
        day=digest.day, alerts=len(digest.alerts), open_alerts=digest.open_alerts, markdown=digest.markdown,
        path=path, delivered_to=delivered_to, delivery_errors=errors, generated_at=now or datetime.now(UTC)))


def send_digest(notifier, digest: Digest) -> tuple[list[str], list[str]]:
    """Send the digest on every configured channel; returns (delivered_to, errors)."""
    n = Notification("digest", f"Alert digest {digest.day.isoformat()}: {len(digest.alerts)} alerts, "
                     f"{digest.open_alerts} open", digest.markdown, "info", None,
                     {k.capitalize(): str(v) for k, v in digest.by_severity.items()})
    ok, errors = [], []
    for name in notifier.names:
        try:
            notifier.send(name, n)
            ok.append(name)
        except Exception as exc:  # recorded with the digest; the asset reports it
            errors.append(f"{name}: {exc}")
    return ok, errors
