"""``meta-agent script``: validate a script, list requests and show what was generated."""

from __future__ import annotations

from pathlib import Path

import typer

from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stdout, table
from meta_agent.cli.request import show_request
from meta_agent.errors import InputError
from meta_agent.scriptgen import repository as repo
from meta_agent.scriptgen.factory import describe_request
from meta_agent.scriptgen.validator import validate_file
from meta_agent.store.schema_scripts import REQUEST_STATUSES

app = typer.Typer(help="Generated scripts: validate a file, list requests, show one, the script library.",
                  no_args_is_help=True)


@app.command()
def validate(
    file: Path = typer.Argument(..., help="A Python script to check against the script language."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check FILE against the script language (meta_agent/tools/language.py) and the secret scan; exits 1 when invalid."""
    if file.is_dir():
        raise InputError(f"{file} is a directory; give the path of one .py script.")
    report = validate_file(file)
    payload = {"file": str(file), **report.as_dict()}

    def human() -> None:
        if report.findings:
            stdout.print(table(f"{file}: {report.summary()}", ["line", "col", "rule", "message", "fix"],
                               [(f.line, f.col + 1, f.rule, f.message, f.fix) for f in report.findings]))
        else:
            stdout.print(f"{file}: [green]valid[/] ({report.duration_ms:.0f} ms)")

    emit(payload, as_json, human)
    if not report.valid:
        raise typer.Exit(1)


@app.command("list")
def list_(
    status: str = typer.Option(None, help="Only requests in this status (received, planned, refused, generated, "
                                          "invalid, succeeded, failed)."),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recent requests with their script, reuse and run status; and the library's reuse rate."""
    if status is not None and status not in REQUEST_STATUSES:
        raise InputError(f"--status '{status}' is not one of {', '.join(REQUEST_STATUSES)}.")
    engine = ops_engine()
    with engine.connect() as conn:
        rows = repo.list_requests(conn, status=status, limit=limit)
        stats = repo.reuse_stats(conn)
    payload = {"requests": [{**r, "submitted_at": r["submitted_at"].isoformat()} for r in rows], "library": stats}

    def human() -> None:
        stdout.print(table(f"{len(rows)} requests", ["request", "status", "script", "reused", "run", "text"],
                           [(r["request_id"], r["status"], r["script_id"] or "", "yes" if r["reused"] else "",
                             r["run_status"] or "", r["text"][:70]) for r in rows]))
        stdout.print(f"library: {stats['library_scripts']} scripts; reuse rate {stats['reuse_rate']:.0%} "
                     f"({stats['reused']} of {stats['generations']} generations reused a script)")

    emit(payload, as_json, human)


@app.command()
def show(
    ident: str = typer.Argument(..., help="A request id (req-...) or a script id."),
    source: bool = typer.Option(False, "--source", help="Print only the script's source."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A request's plan, script, validation and run — or a script by id."""
    engine = ops_engine()
    with engine.connect() as conn:
        if ident.startswith("req-"):
            payload = describe_request(conn, ident)
            script = repo.get_script(conn, payload["script"]["script_id"]) if payload["script"] else None
        else:
            script = repo.get_script(conn, ident)
            if script is None:
                raise InputError(f"no request or script '{ident}'; see `meta-agent script list`.")
            payload = {k: v for k, v in script.items() if k != "source"}
            payload["created_at"] = script["created_at"].isoformat()
    if source:
        if script is None:
            raise InputError(f"request {ident} has no script yet.")
        if as_json:
            emit({"script_id": script["script_id"], "source": script["source"]}, True, lambda: None)
        else:
            print(script["source"], end="")
        return
    emit(payload, as_json, lambda: show_request(payload) if ident.startswith("req-") else stdout.print(payload))


@app.command()
def library(as_json: bool = JSON_OPTION) -> None:
    """The script library: one validated, successful script per request shape, with its reuse."""
    engine = ops_engine()
    with engine.connect() as conn:
        entries = repo.library(conn)
        stats = repo.reuse_stats(conn)
    payload = {"stats": stats, "scripts": [{**e, "last_used_at": e["last_used_at"].isoformat()} for e in entries]}

    def human() -> None:
        stdout.print(table(f"script library: {len(entries)} shapes, reuse rate {stats['reuse_rate']:.0%}",
                           ["script", "shape", "first request", "runs ok", "reuses"],
                           [(e["script_id"], e["description"], e["first_request_id"], e["successes"], e["reuses"])
                            for e in entries]))

    emit(payload, as_json, human)
