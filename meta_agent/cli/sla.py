"""``meta-agent sla``: SLA status per day, and the SLA definitions (file + DB overrides).

Precedence per agent and metric: DB agent → config/slas.yaml agent → DB default → YAML
default. ``set``/``unset`` change the DB; the YAML file is edited in the repo.
"""

from __future__ import annotations

import getpass

import sqlalchemy as sa
import typer

from meta_agent.cli.db import ops_engine
from meta_agent.cli.metrics import DATE_HELP, parse_day
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.ops import sla
from meta_agent.store.schema import agents as agents_table

app = typer.Typer(help="SLA compliance per agent and day; list and change SLA definitions.",
                  no_args_is_help=True)

SOURCE_CODE = {"db:agent": "D", "yaml:agent": "F", "db:default": "d", "yaml:default": "f"}
AGENT_SCOPE_HELP = "Agent id; without it the default for every agent is changed."


@app.command()
def status(
    date_: str = typer.Option(None, "--date", help=DATE_HELP),
    agent: str = typer.Option(None, "--agent", help="Only this agent."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Each agent's SLA budgets on one day: consumed %, ok / WARN (≥80 %) / BREACH (>100 %)."""
    day = parse_day(date_)
    with ops_engine().connect() as conn:
        rows = sla.evaluations_for_day(conn, day)
    if agent:
        rows = [r for r in rows if r["agent_id"] == agent]
        if not rows:
            raise InputError(f"--agent '{agent}': no SLA evaluations on {day}; "
                             "check the id with `meta-agent sla list`.")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "warn", "breach")}
    payload = {"day": day.isoformat(), "counts": counts, "evaluations": rows}

    def human() -> None:
        if not rows:
            stderr.print(f"no SLA evaluations for {day}: materialize sla_compliance for that partition.")
            return
        grid = sla.status_grid(rows)
        cols = ["agent", "success", "p95", "p99", "cost", "human"]
        stdout.print(table(f"SLA {day} (UTC): {counts['breach']} breach, {counts['warn']} warn, {counts['ok']} ok",
                           cols, [[g[c] for c in cols] for g in grid]))
        for r in rows:
            if r["status"] != "ok":
                stdout.print(f"  [{'red' if r['status'] == 'breach' else 'yellow'}]{sla.describe(r)}[/]"
                             f"  driven by: {_drivers(r['attribution'])}")

    emit(payload, as_json, human)


def _drivers(attribution: dict) -> str:
    for key, label in (("by_error_type", None), ("p95_by_prompt_version", "p95 by prompt"),
                       ("p99_by_prompt_version", "p99 by prompt"), ("by_model", "by model"),
                       ("by_status", "by status")):
        if attribution.get(key):
            items = list(attribution[key].items())[:3]
            body = ", ".join(f"{k} {v if not isinstance(v, dict) else v.get('cost_usd')}" for k, v in items)
            return f"{label}: {body}" if label else body
    return ""


@app.command("list")
def list_(
    agent: str = typer.Option(None, "--agent", help="Only this agent."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The limits in force per agent, and where each comes from (db/yaml, agent/default)."""
    with ops_engine().connect() as conn:
        defs = sla.load_definitions(conn)
        db_rows = sla.db_definitions(conn)
        known = set(conn.execute(sa.select(agents_table.c.agent_id)).scalars())
    ids = [agent] if agent else sorted(known | set(defs.agents()))
    effective = []
    for a in ids:
        for key in sla.BY_KEY:
            lim = defs.limit(a, key)
            effective.append({"agent_id": a, "metric": key, "limit": lim.value if lim else None,
                              "source": lim.source if lim else None, "enabled": bool(lim and lim.value is not None)})
    payload = {"file": str(defs.file.path), "file_exists": defs.file.exists,
               "precedence": ["db:agent", "yaml:agent", "db:default", "yaml:default"],
               "default": {k: (lim.value, lim.source) if (lim := defs.limit(sla.DEFAULT_SCOPE, k)) else None
                           for k in sla.BY_KEY},
               "db_overrides": db_rows, "effective": effective}

    def human() -> None:
        cols = list(sla.BY_KEY)
        rows = []
        for a in ([] if agent else [sla.DEFAULT_SCOPE]) + ids:
            cells = []
            for k in cols:
                lim = defs.limit(a, k)
                cells.append("-" if lim is None else
                             ("off" if lim.value is None else f"{lim.value:g}") + " " + SOURCE_CODE[lim.source])
            rows.append(["(default)" if a == sla.DEFAULT_SCOPE else a, *cells])
        stdout.print(table(f"SLA limits in force; file {defs.file.path}{'' if defs.file.exists else ' (missing)'}",
                           ["agent", *(sla.SHORT[c] for c in cols)], rows))
        stdout.print("source: D = DB override for the agent, F = file entry for the agent, "
                     "d = DB default, f = file default (precedence D > F > d > f)")
        if db_rows:
            stdout.print(table("DB overrides (meta-agent sla set/unset)", ["scope", "metric", "limit", "by", "when", "note"],
                               [(r["scope"], r["metric"], "off" if r["limit_value"] is None else r["limit_value"],
                                 r["updated_by"], f"{r['updated_at']:%Y-%m-%d %H:%M}", r["note"]) for r in db_rows]))

    emit(payload, as_json, human)


def _value(metric: str, text: str):
    if text.strip().lower() in ("off", "none", "null"):
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"VALUE '{text}' for {metric}: not a number; give a number (e.g. 0.95, 5000) "
                         "or 'off' to switch the metric off.") from None


@app.command("set")
def set_(
    metric: str = typer.Argument(..., help="min_success_rate, max_latency_p95_ms, max_latency_p99_ms, "
                                           "max_daily_cost_usd or max_human_intervention_rate."),
    value: str = typer.Argument(..., help="The limit, or 'off' to switch the metric off at this level."),
    agent: str = typer.Option(None, "--agent", help=AGENT_SCOPE_HELP),
    note: str = typer.Option(None, "--note", help="Why (kept with the override)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add or change an SLA limit in the DB (it overrides config/slas.yaml at the same level)."""
    sla.metric(metric)
    limit = _value(metric, value)
    scope = agent or sla.DEFAULT_SCOPE
    engine = ops_engine()
    with engine.begin() as conn:
        before = sla.load_definitions(conn).limit(scope, metric)
        row = sla.set_definition(conn, scope, metric, limit, note=note, updated_by=_user())
    payload = {"scope": scope, "metric": metric, "limit": row["limit_value"],
               "previous": {"limit": before.value, "source": before.source} if before else None}
    who = f"agent {agent}" if agent else "the default"
    emit(payload, as_json, lambda: stdout.print(
        f"{metric} for {who}: {'off' if limit is None else f'{limit:g}'} (DB override"
        f"{'' if before is None else f'; was {before.value} from {before.source}'})"))


@app.command("unset")
def unset(
    metric: str = typer.Argument(..., help="The metric whose DB override to remove."),
    agent: str = typer.Option(None, "--agent", help=AGENT_SCOPE_HELP),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove a DB override, so the YAML file (or the default) applies again."""
    sla.metric(metric)
    scope = agent or sla.DEFAULT_SCOPE
    with ops_engine().begin() as conn:
        removed = sla.unset_definition(conn, scope, metric)
        now = sla.load_definitions(conn).limit(scope, metric)
    if not removed:
        raise InputError(f"no DB override of {metric} for {'agent ' + agent if agent else 'the default'}; "
                         "`meta-agent sla list` shows the overrides.")
    payload = {"scope": scope, "metric": metric, "removed": True,
               "now": {"limit": now.value, "source": now.source} if now else None}
    emit(payload, as_json, lambda: stdout.print(
        f"removed; {metric} is now " + (f"{now.value} from {now.source}" if now else "not defined")))


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return None
