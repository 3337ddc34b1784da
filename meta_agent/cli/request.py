"""``meta-agent request "TEXT"``: ask the script factory for an analysis.

Without ``--wait`` the request is recorded and the ``script_request_sensor`` plans and runs it
(``dagster dev`` or the daemon). With ``--wait`` it runs ``script_factory_job`` for the
request's partition now, on the instance at ``DAGSTER_HOME`` (``python -m meta_agent_launch``
in a child process: the library never imports Dagster), and prints the result. The planner
chosen with ``--planner`` is recorded on the request; the job's plan step reads it there.
"""

from __future__ import annotations

import typer

from meta_agent.cli.child import run_launcher
from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.portfolio import is_seeded
from meta_agent.scriptgen import repository as repo
from meta_agent.scriptgen.factory import describe_request
from meta_agent.scriptgen.present import key_figures_rows


def register(app: typer.Typer) -> None:
    app.command("request")(request)


def request(
    text: str = typer.Argument(..., help="What to calculate, in plain English (quote it)."),
    fmt: str = typer.Option(None, "--format", "-f", help="Output format: csv, xlsx, pdf or json (default: "
                                                          "what the text says, else csv)."),
    wait: bool = typer.Option(False, "--wait", help="Plan, generate, validate and run it now, and print the result."),
    planner: str = typer.Option(None, "--planner", help="offline (default) or llm (with --wait)."),
    timeout: float = typer.Option(900.0, "--timeout", min=10, help="Seconds to wait with --wait."),
    allow_weak_isolation: bool = typer.Option(
        False, "--allow-weak-isolation",
        help="Run a model-written script even under local:rlimits (no filesystem or network isolation); "
             "refused there otherwise."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a request for the script factory (and with --wait, run it to the end)."""
    if planner is not None and planner not in ("offline", "llm"):
        raise InputError(f"--planner '{planner}' is not one of offline, llm.")
    metadata: dict = {}
    if planner:
        metadata["planner"] = planner
    if allow_weak_isolation:  # read by factory.run_script (requests from the command line only)
        metadata["allow_weak_isolation"] = True
    engine = ops_engine()
    with engine.begin() as conn:
        row = repo.submit_request(conn, text, source="cli", output_format=fmt, metadata=metadata or None)
    rid = row["request_id"]
    if not wait:
        payload = {"request_id": rid, "status": row["status"], "text": row["text"],
                   "message": "recorded; the script_request_sensor plans and runs it when Dagster is running "
                              "(make ui), or run again with --wait"}
        emit(payload, as_json, lambda: stdout.print(f"request [bold]{rid}[/] recorded: {payload['message']}"))
        return
    _check_portfolio()
    if not as_json:
        stderr.print(f"request {rid}: running plan -> script -> validation -> run through Dagster ...")
    outcome = _run_through_dagster(rid, timeout)
    with engine.connect() as conn:
        payload = describe_request(conn, rid)
    payload["dagster_run_id"] = outcome.get("run_id")
    emit(payload, as_json, lambda: show_request(payload))
    if payload["status"] != "succeeded":
        raise typer.Exit(1)


def _check_portfolio() -> None:
    if not is_seeded():
        raise InputError("the portfolio database is empty or missing; create it with `meta-agent data seed` "
                         "(or `meta-agent demo`).")


def _run_through_dagster(rid: str, timeout: float) -> dict:
    return run_launcher(["meta_agent_launch", "script_factory_job", "--partition", rid, "--dynamic", "script_requests",
                         "--tag", "meta_agent/source=cli"], timeout=timeout,
                        timed_out=f"request {rid} did not finish within {timeout:.0f} s; see it in the Dagster UI "
                                  "or with `meta-agent script show`.",
                        failed=f"the Dagster run for request {rid} could not start")


def show_request(p: dict) -> None:
    """Human rendering of ``factory.describe_request``."""
    stdout.print(f"[bold]{p['request_id']}[/] — {p['status']}: {p['text']}")
    plan = p.get("plan")
    if plan and plan["status"] == "planned":
        stdout.print(f"  plan ({plan['planner']}, {plan['template']} template): {plan['goal']}")
        for s in plan["steps"]:
            stdout.print(f"    {s.rstrip()}")
        for a in plan["assumptions"]:
            stdout.print(f"    [dim]assumed: {a}[/]")
        if plan.get("scenario"):
            stdout.print(f"    scenario: {plan['scenario']} (the script reads the portfolio under it)")
        for clause in plan.get("unhandled") or []:
            stdout.print(f"    [yellow]not handled[/]: {clause}", highlight=False)
    elif plan:
        stdout.print(f"  [red]not planned[/]: {plan['reason']} {plan['hint']}".rstrip())
        stdout.print(f"  closest tools: {', '.join(plan['closest_tools']) or 'none'}")
    s = p.get("script")
    if s:
        how = f"reused from {s['reused_from']}" if s["reused"] else f"new ({s['author']}, {s['template']})"
        stdout.print(f"  script {s['script_id']} — {how}; {'valid' if s['valid'] else '[red]INVALID[/]'}: {s['path']}")
        for e in s["errors"][:20]:
            stdout.print(f"    line {e['line']}: [{e['rule']}] {e['message']}")
    r = p.get("run")
    if not r:
        return
    if r["status"] == "refused":
        stdout.print(f"  run: [red]refused[/] ({r['runner']}): {r['message']}", highlight=False)
    else:
        stdout.print(f"  run: {r['status']} in {r['duration_s']:.2f} s ({r['runner']}): {r['message']}")
    pol = r.get("policy")
    if pol:
        stdout.print(f"  policy: {pol['provenance']} script × {pol['runner']}: "
                     f"{'allowed' if pol['allowed'] else 'refused'}"
                     f"{' (override: --allow-weak-isolation)' if pol.get('override_used') else ''}"
                     f"; guard {'on' if pol.get('guard') else 'off'}")
    for o in r["outputs"]:
        stdout.print(f"    {o}")
    rows = key_figures_rows({"metrics": r.get("metrics") or [], "key_figures": r.get("key_figures")})
    if rows and len(rows[0]) > 2:
        stdout.print(table("key figures", list(rows[0]), [list(x.values()) for x in rows]))
    for n in r.get("notes") or []:
        stdout.print(f"    [dim]note: {n}[/]")
