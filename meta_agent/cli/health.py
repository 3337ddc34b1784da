"""``meta-agent health``: every agent's health now (or as of a time), and its history."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from meta_agent.cli.alerts import parse_time
from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.ops import health as health_mod
from meta_agent.ops import monitor
from meta_agent.ops.monitoring_config import load
from meta_agent.ops.notifiers import build_notifier

app = typer.Typer(help="Agent health: healthy / degraded / critical from the 5-minute and 1-hour windows.",
                  invoke_without_command=True)

_STYLE = {"healthy": "green", "degraded": "yellow", "critical": "bold red"}


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0%}"


@app.callback()
def health(
    ctx: typer.Context,
    agent: str = typer.Option(None, "--agent", help="Only this agent."),
    as_of: str = typer.Option(None, "--as-of", help="Evaluate as of this time (YYYY-MM-DD[THH:MM], -N[mhd]); default now."),
    record: bool = typer.Option(False, "--record", help="Also record it: transitions, circuits, alerts and "
                                "deliveries, exactly as one tick of the health sensor."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate every agent's health as of now (or --as-of), with the reason."""
    if ctx.invoked_subcommand is not None:
        return
    when = parse_time(as_of, "--as-of") or datetime.now(UTC)
    engine = ops_engine()
    cfg = load()
    with engine.connect() as conn:
        known = health_mod.active_agents(conn, when)
    if agent and agent not in known:
        hint = f"agents active at {when:%Y-%m-%d %H:%M} UTC: {', '.join(known)}" if known else "no agent had logged by then"
        raise InputError(f"--agent '{agent}': unknown at that time ({hint}).")
    payload: dict = {"as_of": when.isoformat(), "config": cfg.source}
    if record:
        report = monitor.tick(engine, when, monitoring=cfg, notifier=build_notifier())
        results = [h for h in report.health if not agent or h.agent_id == agent]
        payload["tick"] = report.summary()
    else:
        with engine.connect() as conn:
            results = health_mod.assess(conn, when, cfg.health_rules, [agent] if agent else None)
    payload["agents"] = [h.as_dict() for h in results]

    def human() -> None:
        if not results:
            stderr.print("no agents have logged yet: nothing to evaluate.")
            return
        rows = []
        for h in sorted(results, key=lambda h: ({"critical": 0, "degraded": 1}.get(h.status, 2), h.agent_id)):
            s, lg = h.details["short"], h.details["long"]
            rows.append((h.agent_id, f"[{_STYLE[h.status]}]{h.status}[/]", f"{s['n']} / {_pct(s['failure_rate'])}",
                         f"{lg['n']} / {_pct(lg['failure_rate'])}", _pct(lg["slow_share"]), h.reason))
        stdout.print(table(f"agent health as of {when:%Y-%m-%d %H:%M:%S} UTC",
                           ["agent", "status", "5m n / failed", "1h n / failed", "1h slow", "reason"], rows))
        if record:
            stderr.print(f"recorded: {payload['tick']}")

    emit(payload, as_json, human)


@app.command()
def history(
    agent: str = typer.Option(None, "--agent", help="Only this agent."),
    since: str = typer.Option(None, "--since", help="Transitions at or after (YYYY-MM-DD[THH:MM], -N[mhd])."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recorded health transitions, newest first."""
    with ops_engine().connect() as conn:
        rows = health_mod.transitions(conn, agent, parse_time(since, "--since"), limit)

    def human() -> None:
        if not rows:
            stderr.print("no health transitions recorded yet (the agent_health_sensor or `meta-agent health "
                         "--record` records them).")
            return
        stdout.print(table("health transitions", ["at (UTC)", "agent", "from", "to", "reason"],
                           [(f"{r['at']:%Y-%m-%d %H:%M:%S}", r["agent_id"], r["from_status"] or "-", r["to_status"],
                             r["reason"]) for r in rows]))

    emit({"transitions": rows}, as_json, human)
