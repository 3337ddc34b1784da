"""``meta-agent circuit``: circuit-breaker state per agent, and the manual override."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from meta_agent.cli.alerts import _who
from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.ops import alert_rules, alerts, circuit, monitor
from meta_agent.ops.notifiers import build_notifier

app = typer.Typer(help="Circuit breakers: status, and open|close|auto to override one by hand.",
                  no_args_is_help=True)

AGENT_ARG = typer.Argument(..., help="The agent id (see `meta-agent circuit status`).")
REASON_OPTION = typer.Option(None, "--reason", help="Why (kept in the transition log and the alert).")
BY_OPTION = typer.Option(None, "--by", help="Who (default: $META_AGENT_USER or the login name).")


def _fmt_time(v) -> str:
    return "-" if v is None else f"{v:%Y-%m-%d %H:%M:%S}"


@app.command()
def status(agent: str = typer.Argument(None, help="One agent (adds its recent transitions)."),
           as_json: bool = JSON_OPTION) -> None:
    """Every circuit's effective state (an override wins over the automatic state)."""
    with ops_engine().connect() as conn:
        rows = circuit.status(conn, agent)
        if agent and not rows:
            known = [r["agent_id"] for r in circuit.status(conn)]
            raise InputError(f"no circuit for '{agent}' yet" + (f"; circuits exist for {', '.join(known)}" if known
                             else "; the agent_health_sensor creates them on its first tick") + ".")
        history = circuit.transitions(conn, agent, limit=20) if agent else []

    def human() -> None:
        if not rows:
            stderr.print("no circuits yet: the agent_health_sensor (or `meta-agent health --record`) creates them.")
            return
        stdout.print(table("circuit breakers", ["agent", "state", "automatic", "override", "since (UTC)", "reason"],
                           [(r["agent_id"], r["state"], r["automatic_state"], r["override"] or "-",
                             _fmt_time(r["since"]), r["reason"]) for r in rows]))
        if history:
            stdout.print(table(f"transitions of {agent}", ["at (UTC)", "from", "to", "actor", "reason"],
                               [(_fmt_time(t["at"]), t["from_state"] or "-", t["to_state"], t["actor"], t["reason"])
                                for t in history]))

    emit({"circuits": rows, "transitions": history}, as_json, human)


def _set(agent: str, mode: str, reason: str | None, by: str | None, as_json: bool) -> None:
    who = _who(by)
    engine = ops_engine()
    notifier = build_notifier()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        state, transition = circuit.set_mode(conn, agent, mode, who, reason, now)
        if state.effective == circuit.OPEN and transition is not None:
            monitor.raise_specs(conn, [alert_rules.manual_open_spec(agent, who, state.reason, now)], notifier, now)
        elif state.effective == circuit.CLOSED:
            alerts.auto_resolve(conn, agent, ["circuit_open"], now, f"circuit {mode} by {who}", now)
    delivery = alerts.deliver_due(engine, notifier)
    payload = {"agent_id": agent, "state": state.effective, "automatic_state": state.state,
               "override": state.override, "changed": transition is not None, "reason": state.reason,
               "delivery": delivery.as_dict()}

    def human() -> None:
        verb = "is now" if transition else "was already"
        stdout.print(f"circuit of {agent} {verb} {state.effective}"
                     + (f" (pinned by hand; `meta-agent circuit auto {agent}` releases it)" if state.override else
                        " (automatic control)") + ".")

    emit(payload, as_json, human)


@app.command("open")
def open_(agent: str = AGENT_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
          as_json: bool = JSON_OPTION) -> None:
    """Force the circuit open: agents asking allow_execution() are refused until `auto` or `close`."""
    _set(agent, "open", reason, by, as_json)


@app.command("close")
def close(agent: str = AGENT_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
          as_json: bool = JSON_OPTION) -> None:
    """Force the circuit closed: work is allowed whatever the failure rate, until `auto`."""
    _set(agent, "closed", reason, by, as_json)


@app.command("auto")
def auto(agent: str = AGENT_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
         as_json: bool = JSON_OPTION) -> None:
    """Hand the circuit back to automatic control, starting closed with an empty window."""
    _set(agent, "auto", reason, by, as_json)
