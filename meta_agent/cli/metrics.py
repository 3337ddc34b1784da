"""``meta-agent metrics``: the daily per-agent metrics the ``daily_agent_metrics`` asset wrote."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import typer

from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.ops.metrics import read_metrics

app = typer.Typer(help="Daily agent metrics: executions, success rate, latency, cost, errors.",
                  no_args_is_help=True)

DATE_HELP = "UTC day: YYYY-MM-DD, 'today', 'yesterday' or -N (N days before today). Default: yesterday."


def parse_day(text: str | None, option: str = "--date") -> date:
    """A day from the command line; the error names the option, the value and the forms."""
    today = datetime.now(UTC).date()
    if text is None or text.strip().lower() == "yesterday":
        return today - timedelta(days=1)
    t = text.strip().lower()
    if t == "today":
        return today
    if re.fullmatch(r"-\d{1,5}", t):
        return today - timedelta(days=int(t[1:]))
    try:
        return date.fromisoformat(t)
    except ValueError:
        raise InputError(f"{option} '{text}': not a day; use YYYY-MM-DD (e.g. {today - timedelta(days=1)}), "
                         "'today', 'yesterday' or -N.") from None


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _num(v: float | None, fmt: str = ",.0f") -> str:
    return "n/a" if v is None else format(v, fmt)


@app.command()
def show(
    date_: str = typer.Option(None, "--date", help=DATE_HELP),
    agent: str = typer.Option(None, "--agent", help="Only this agent."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one day's metrics per agent (computed by the daily_agent_metrics asset)."""
    day = parse_day(date_)
    with ops_engine().connect() as conn:
        rows = read_metrics(conn, day, agent)
        if agent and not rows:
            others = [r["agent_id"] for r in read_metrics(conn, day)]
            hint = (f"agents with metrics that day: {', '.join(others)}" if others
                    else "no agent has metrics that day; materialize daily_agent_metrics for it")
            raise InputError(f"--agent '{agent}': no metrics on {day}; {hint}.")
    payload = {"day": day.isoformat(), "agent": agent, "agents": rows}

    def human() -> None:
        if not rows:
            stderr.print(f"no metrics for {day}: materialize daily_agent_metrics for that partition "
                         "(the 02:00 UTC schedule does it for yesterday).")
            return
        stdout.print(table(
            f"agent metrics {day} (UTC): volume and latency",
            ["agent", "runs", "ok/fail/timeout/cancel", "success", "p50 ms", "p95 ms", "p99 ms"],
            [(r["agent_id"], r["executions"], f"{r['successes']}/{r['failures']}/{r['timeouts']}/{r['cancelled']}",
              _pct(r["success_rate"]), _num(r["latency_p50_ms"]), _num(r["latency_p95_ms"]),
              _num(r["latency_p99_ms"])) for r in rows],
        ))
        stdout.print(table(
            f"agent metrics {day} (UTC): spend, humans, errors",
            ["agent", "tokens in", "tokens out", "cost $", "$/success", "human", "top error"],
            [(r["agent_id"], f"{r['tokens_in']:,}", f"{r['tokens_out']:,}", f"{r['cost_usd']:.2f}",
              _num(r["cost_per_success_usd"], ".4f"), r["human_interventions"],
              next((f"{k} ({v})" for k, v in (r["error_types"] or {}).items()), ""))
             for r in rows],
        ))

    emit(payload, as_json, human)
