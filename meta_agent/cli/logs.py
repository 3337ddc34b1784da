"""``meta-agent logs``: load execution records from files, inspect what was quarantined."""

from __future__ import annotations

from pathlib import Path

import typer

from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, progress, stderr, stdout, table
from meta_agent.store import quarantine
from meta_agent.store.ingest import ingest_file

app = typer.Typer(help="Execution logs: ingest files, list quarantined records.", no_args_is_help=True)


@app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="JSONL (SDK spill files, exports) or CSV files."),
    batch_size: int = typer.Option(5000, min=1, help="Records per transaction."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Load execution records (and score records), idempotently by execution_id — scores by
    execution, name and source; bad records are quarantined.

    Exits non-zero only when a file cannot be read at all.
    """
    reports = []
    with progress(not as_json) as bar:
        for f in files:
            size = f.stat().st_size if f.is_file() else None
            task = bar.add_task(f"ingest {f.name}", total=size if f.suffix != ".csv" else None)
            step = (lambda n, t=task: bar.advance(t, n)) if size else None
            reports.append(ingest_file(f, batch_size=batch_size, progress=step))
            bar.update(task, completed=size or 1, total=size or 1)

    def human() -> None:
        stdout.print(table("ingest", ["file", "read", "accepted", "duplicates", "quarantined", "actions", "scores",
                                      "scores updated", "score duplicates"],
                           [(r.source, r.read, r.accepted, r.duplicates, r.quarantined, r.actions, r.scores,
                             r.scores_updated, r.score_duplicates) for r in reports]))
        for r in reports:
            if r.scores_stale:
                stderr.print(f"{r.source}: {r.scores_stale} scores older than the stored ones were ignored")
        for r in reports:
            for line in r.problems:
                stderr.print(f"[yellow]quarantined[/] {line}")
            if r.quarantined > len(r.problems):
                stderr.print(f"... and {r.quarantined - len(r.problems)} more: `meta-agent logs quarantine`")

    emit({"files": [r.as_dict() for r in reports]}, as_json, human)


@app.command("quarantine")
def list_quarantine(
    limit: int = typer.Option(50, min=1, help="Newest first, at most this many."),
    source: str = typer.Option(None, help="Only records whose source contains this text (e.g. a file name)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List quarantined records with where they came from and why they were rejected."""
    with ops_engine().connect() as conn:
        rows = quarantine.list_recent(conn, limit=limit, source_like=source)
        total = quarantine.count(conn)

    def human() -> None:
        stdout.print(table(f"quarantine ({len(rows)} of {total})", ["id", "when", "source", "reason"],
                           [(r["quarantine_id"], f"{r['quarantined_at']:%Y-%m-%d %H:%M}", r["source"], r["reason"])
                            for r in rows]))

    emit({"total": total, "records": rows}, as_json, human)
