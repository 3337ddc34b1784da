"""``meta-agent alerts``: list, show, acknowledge, resolve, deliver, digest."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import typer

from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.ops.alerts import (
    acknowledge,
    build_digest,
    current_user,
    deliver_due,
    get_alert,
    list_alerts,
    pending_deliveries,
)
from meta_agent.ops.alerts import resolve as resolve_alert
from meta_agent.ops.notifiers import build_notifier

app = typer.Typer(help="Alerts: list them, acknowledge and resolve them, deliver and digest them.",
                  no_args_is_help=True)

BY_OPTION = typer.Option(None, "--by", help="Who does it (default: $META_AGENT_USER or the login name).")
NOTE_OPTION = typer.Option(None, "--note", help="A note kept with the alert.")


def parse_time(text: str | None, option: str) -> datetime | None:
    """'now', an ISO date or datetime (naive = UTC), or -N[mhd] before now."""
    if text is None:
        return None
    t = text.strip().lower()
    now = datetime.now(UTC)
    if t == "now":
        return now
    m = re.fullmatch(r"-(\d{1,6})([mhd])", t)
    if m:
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[m[2]]: int(m[1])})
    try:
        v = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option} '{text}': not a time; use 'now', YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][+00:00] "
                         "(no zone = UTC) or -N followed by m, h or d (e.g. -2h).") from None
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _who(by: str | None) -> str:
    who = (by or current_user()).strip()
    if not who:
        raise InputError("--by is empty; give a name (or leave it out to use your login name).")
    return who


def _rows(rows: list[dict]) -> list[tuple]:
    return [(r["alert_id"], f"{r['triggered_at']:%Y-%m-%d %H:%M}", r["agent_id"], r["alert_type"], r["severity"],
             r["status"], r["occurrences"], _delivery(r), r["title"]) for r in rows]


def _delivery(r: dict) -> str:
    ds = r.get("deliveries") or []
    return ", ".join(f"{d['channel']}:{d['status']}" + (f"({d['attempts']}×)" if d["status"] != "sent" and d["attempts"]
                                                          else "") for d in ds) or "-"


COLUMNS = ["id", "triggered (UTC)", "agent", "type", "severity", "status", "seen", "delivery", "title"]


@app.command("list")
def list_(
    status: str = typer.Option("open", "--status", help="open (open or acknowledged), acknowledged, resolved or all."),
    agent: str = typer.Option(None, "--agent", help="Only this agent (or job:<name> for run failures)."),
    type_: str = typer.Option(None, "--type", help="Only this type (sla_breach, health_critical, circuit_open, …)."),
    severity: str = typer.Option(None, "--severity", help="At least this severity: info, warning, critical, emergency."),
    since: str = typer.Option(None, "--since", help="Triggered at or after: YYYY-MM-DD[THH:MM], -N[mhd] or now."),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List alerts, newest first (default: the open and acknowledged ones)."""
    with ops_engine().connect() as conn:
        rows = list_alerts(conn, status=status.strip().lower(), agent_id=agent, alert_type=type_,
                           min_severity=severity.strip().lower() if severity else None,
                           since=parse_time(since, "--since"), limit=limit)

    def human() -> None:
        if not rows:
            stderr.print(f"no {status} alerts" + (f" for {agent}" if agent else "") + ".")
            return
        stdout.print(table(f"alerts ({status}): {len(rows)}", COLUMNS, _rows(rows)))

    emit({"status": status, "count": len(rows), "alerts": rows}, as_json, human)


def _show(alert: dict) -> None:
    stdout.print(f"[bold]#{alert['alert_id']} {alert['title']}[/]")
    stdout.print(f"{alert['severity']} {alert['alert_type']} · {alert['agent_id']} · {alert['status']} · "
                 f"triggered {alert['triggered_at']:%Y-%m-%d %H:%M:%S} UTC · seen {alert['occurrences']}×")
    stdout.print(alert["message"], markup=False)
    for k in ("acknowledged", "resolved"):
        if alert.get(f"{k}_at"):
            stdout.print(f"{k} by {alert[f'{k}_by']} at {alert[f'{k}_at']:%Y-%m-%d %H:%M} UTC")
    if alert.get("note"):
        stdout.print(f"note: {alert['note']}", markup=False)
    stdout.print(f"delivery: {_delivery(alert)}")


@app.command()
def show(alert_id: int = typer.Argument(..., help="The alert's id (from `meta-agent alerts list`)."),
         as_json: bool = JSON_OPTION) -> None:
    """One alert with its message, details and delivery state."""
    with ops_engine().connect() as conn:
        alert = get_alert(conn, alert_id)
    if alert is None:
        raise InputError(f"there is no alert {alert_id}; `meta-agent alerts list --status all` shows the ids.")
    emit(alert, as_json, lambda: _show(alert))


@app.command()
def ack(alert_id: int = typer.Argument(..., help="The alert's id."), by: str = BY_OPTION,
        note: str = NOTE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Acknowledge an open alert: someone is on it (ongoing health/circuit alerts stop paging)."""
    who = _who(by)
    with ops_engine().begin() as conn:
        alert = acknowledge(conn, alert_id, who, note)
    emit(alert, as_json, lambda: stdout.print(f"alert {alert_id} acknowledged by {who}."))


@app.command()
def resolve(alert_id: int = typer.Argument(..., help="The alert's id."), by: str = BY_OPTION,
            note: str = NOTE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Resolve an open or acknowledged alert."""
    who = _who(by)
    with ops_engine().begin() as conn:
        alert = resolve_alert(conn, alert_id, who, note)
    emit(alert, as_json, lambda: stdout.print(f"alert {alert_id} resolved by {who}."))


@app.command()
def deliver(as_json: bool = JSON_OPTION) -> None:
    """Send every pending delivery that is due now (the sensors do this every 30 s)."""
    engine = ops_engine()
    report = deliver_due(engine, build_notifier())
    with engine.connect() as conn:
        left = pending_deliveries(conn)
    payload = {**report.as_dict(), "still_pending": left}

    def human() -> None:
        stdout.print(f"sent {report.sent}, failed {report.failed}; {left} deliveries still pending.")
        for e in report.errors:
            stderr.print(f"[yellow]failed[/] {e}")

    emit(payload, as_json, human)


@app.command()
def digest(
    date_: str = typer.Option(None, "--date", help="UTC day YYYY-MM-DD (default: yesterday)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print a day's alert digest (markdown); the alert_digest asset also sends it."""
    day = datetime.now(UTC).date() - timedelta(days=1)
    if date_:
        try:
            day = date.fromisoformat(date_.strip())
        except ValueError:
            raise InputError(f"--date '{date_}': not a day; use YYYY-MM-DD, e.g. {day}.") from None
    with ops_engine().connect() as conn:
        d = build_digest(conn, day)
    emit({"day": day.isoformat(), "alerts": len(d.alerts), "open": d.open_alerts, "by_severity": d.by_severity,
          "markdown": d.markdown}, as_json, lambda: stdout.print(d.markdown, markup=False))
