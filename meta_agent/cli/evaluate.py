"""``meta-agent eval``: evaluation reports, failure clusters, root causes, similar failures.

``report`` builds a report on demand (stored as a new version, like the weekly asset's);
``clusters`` and ``rootcause`` read what the daily assets stored (``eval run`` materializes
them for a range); ``similar`` searches the failure index. ``--json`` on each.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import typer

from meta_agent import config
from meta_agent.cli.child import run_launcher
from meta_agent.cli.db import ops_engine
from meta_agent.cli.metrics import parse_day
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.evaluation import data, pipeline, present, similarity
from meta_agent.evaluation import repository as repo
from meta_agent.llm import get_gateway, load_config

app = typer.Typer(help="Evaluation: agent reports, failure clusters, root causes, similar failures.",
                  no_args_is_help=True)

FROM_HELP = "First UTC day: YYYY-MM-DD, 'today', 'yesterday' or -N. Default: 7 days before --to."
TO_HELP = "Last UTC day (inclusive), same forms. Default: yesterday."
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> tuple[date, date]:
    """``2026-W48`` or any day of the week → (its Monday, its Sunday)."""
    m = _WEEK.match(text.strip().upper())
    try:
        monday = date.fromisocalendar(int(m[1]), int(m[2]), 1) if m else parse_day(text, "--week")
    except ValueError:
        raise InputError(f"--week '{text}': no such ISO week; use YYYY-Www (e.g. 2026-W48) or a day in the week.") from None
    monday -= timedelta(days=monday.weekday())
    return monday, monday + timedelta(days=6)


def parse_period(first: str | None, last: str | None) -> tuple[date, date]:
    to = parse_day(last, "--to")
    frm = parse_day(first, "--from") if first else to - timedelta(days=pipeline.WINDOW_DAYS - 1)
    if frm > to:
        raise InputError(f"--from {frm} is after --to {to}; give the first day first.")
    if (to - frm).days > 366:
        raise InputError(f"--from {frm} --to {to} spans more than a year; evaluate a shorter period.")
    return frm, to


def _gateway():
    return get_gateway(load_config(None), db_url=config.db_url())


@app.command()
def report(
    agent: str = typer.Argument(..., help="The agent id."),
    week: str = typer.Option(None, "--week", help="An ISO week (2026-W48) or a day in it."),
    first: str = typer.Option(None, "--from", help=FROM_HELP),
    last: str = typer.Option(None, "--to", help=TO_HELP),
    as_json: bool = JSON_OPTION,
) -> None:
    """An agent's evaluation report against the period before; stored as a new version."""
    if week and (first or last):
        raise InputError("give --week or --from/--to, not both.")
    frm, to = parse_week(week) if week else parse_period(first, last)
    ops_engine()  # migrated, or the fix
    stored = pipeline.report_period(config.db_url(), agent, frm, to, gateway=_gateway(),
                                    sla_file=config.config_dir() / pipeline.SLA_FILE,
                                    out_dir=config.artifacts_dir() / "evaluation" / "reports" / "on-demand")
    payload = {**stored.report.to_dict(), "version": stored.version, "html": str(stored.html_path),
               "narrative": stored.narrative.text, "narrative_source": stored.narrative.source}
    emit(payload, as_json, lambda: (stdout.print(stored.report.markdown(narrative=stored.narrative.text)),
                                    stdout.print(f"\nstored as version {stored.version}; HTML: {stored.html_path}")))


@app.command()
def clusters(
    first: str = typer.Option(None, "--from", help=FROM_HELP),
    last: str = typer.Option(None, "--to", help=TO_HELP),
    as_json: bool = JSON_OPTION,
) -> None:
    """Failure clusters stored for the days (each as of its latest day), with member ids."""
    frm, to = parse_period(first, last)
    with ops_engine().connect() as conn:
        found = repo.clusters_between(conn, frm, to)
        if not found:
            raise InputError(f"no failure clusters stored for {frm}..{to}; materialize them with "
                             f"`meta-agent eval run --from {frm} --to {to}` (or the evaluation_daily job).")
        members: dict[str, list[str]] = {}
        for day in sorted({c["day"] for c in found}):
            keys = [c["cluster_key"] for c in found if c["day"] == day]
            members.update(repo.members_of(conn, day, keys))
    payload = {"from": frm, "to": to, "clusters": [
        {**{k: v for k, v in c.items() if k != "created_at"}, "member_execution_ids": members.get(c["cluster_key"], [])}
        for c in found]}
    emit(payload, as_json, lambda: stdout.print(table(
        f"{len(found)} failure clusters, {frm}..{to}", ["cluster", "label", "size", "trend", "agents", "samples"],
        [(r["cluster"], r["label"], r["size"], r["trend"], r["agents"], r["samples"])
         for r in present.cluster_rows(found)])))


@app.command()
def rootcause(
    first: str = typer.Option(None, "--from", help=FROM_HELP),
    last: str = typer.Option(None, "--to", help=TO_HELP),
    agent: str = typer.Option(None, "--agent", help="Only findings that involve this agent."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Root-cause findings stored for the days: category, confidence, evidence ids."""
    frm, to = parse_period(first, last)
    with ops_engine().connect() as conn:
        found = repo.findings_between(conn, frm, to, agent_id=agent)
        # a day with no findings stores no row; its clusters show the analysis ran
        if not found and not repo.findings_between(conn, frm, to) and not repo.clusters_between(conn, frm, to):
            raise InputError(f"no root-cause analysis stored for {frm}..{to}; run "
                             f"`meta-agent eval run --from {frm} --to {to}` (or the evaluation_daily job).")
    if agent and not found:
        known = set(data.known_agents(config.db_url()))
        if agent not in known:
            raise InputError(f"--agent '{agent}': no such agent; agents: {', '.join(sorted(known))}.")
    payload = {"from": frm, "to": to, "agent": agent, "findings": [
        {k: v for k, v in f.items() if k != "created_at"} for f in found]}
    emit(payload, as_json, lambda: stdout.print(table(
        f"{len(found)} root-cause findings, {frm}..{to}" + (f", {agent}" if agent else ""),
        ["category", "confidence", "agents", "title", "evidence", "first bad execution", "recurrence"],
        [(r["category"], r["confidence"], r["agents"], r["title"], r["evidence"], r["first_bad_execution"],
          r["recurrence"]) for r in present.finding_rows(found)])))


@app.command()
def similar(
    execution_id: str = typer.Argument(None, help="A failed execution's id."),
    text: str = typer.Option(None, "--text", help="Search by an error text instead of an execution."),
    k: int = typer.Option(10, "-k", help="How many similar failures (1–1000)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Failures similar to an execution (and that agent's most similar successes), or to a text."""
    ops_engine()
    result = similarity.similar(config.db_url(), execution_id=execution_id, text=text, k=k, gateway=_gateway(),
                                index_dir=config.artifacts_dir().joinpath(*pipeline.INDEX_DIR))
    payload = present.similar_payload(result)
    emit(payload, as_json, lambda: _show_similar(payload))


def _show_similar(payload: dict[str, Any]) -> None:
    q = payload["query"]
    stdout.print(table(f"failures similar to {q.get('execution_id') or repr(q.get('text'))} ({q['signature']}) — "
                       f"{payload['method']} search", ["execution", "agent", "started", "similarity",
                                                                       "signature"],
                       [(f["execution_id"], f["agent_id"], f["started_at"], f"{f['similarity']:.3f}", f["signature"])
                        for f in payload["failures"]]))
    if payload.get("successes"):
        stdout.print(table("what went right: the same agent's most similar successes",
                           ["execution", "started", "similarity", "context"],
                           [(s["execution_id"], s["started_at"], f"{s['similarity']:.3f}", s.get("context", ""))
                            for s in payload["successes"]]))


@app.command("run")
def run(
    first: str = typer.Option(None, "--from", help=FROM_HELP),
    last: str = typer.Option(None, "--to", help=TO_HELP),
    as_json: bool = JSON_OPTION,
) -> None:
    """Materialize the daily evaluation assets for the days (one Dagster run, on DAGSTER_HOME)."""
    frm, to = parse_period(first, last)
    ops_engine()
    if not as_json:
        stderr.print(f"evaluation_daily {frm}..{to}: scores, embeddings, clusters, findings ...")
    out = run_launcher(["meta_agent_launch", "evaluation_daily", "--from", frm.isoformat(), "--to", to.isoformat()],
                       timeout=3600, timed_out=f"evaluation_daily {frm}..{to} did not finish within an hour",
                       failed=f"evaluation_daily {frm}..{to} could not run")
    payload = {"from": frm, "to": to, **out, "at": datetime.now(UTC)}
    emit(payload, as_json, lambda: stdout.print(
        f"evaluation_daily {frm}..{to}: run {out['run_id']} " + ("succeeded" if out["success"] else "[red]failed[/]")))
    if not out["success"]:
        raise typer.Exit(1)
