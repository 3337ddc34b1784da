"""CLI output conventions.

- Human mode: rich tables and text on stdout; progress bars and notes on stderr.
- ``--json``: exactly one JSON document on stdout and nothing else (progress is suppressed).
- Errors: one sentence on stderr, non-zero exit code (see ``meta_agent.cli.main``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def _width(stream) -> int | None:
    """Piped or redirected output (CI logs, `make demo > file`) gets room for the tables instead
    of rich's 80-column fallback; a terminal or $COLUMNS decides otherwise."""
    return None if os.environ.get("COLUMNS") or stream.isatty() else 140


stdout = Console(soft_wrap=True, width=_width(sys.stdout))
stderr = Console(stderr=True, width=_width(sys.stderr))

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")


def _default(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, (Path, Decimal)):
        return str(v) if isinstance(v, Path) else float(v)
    if hasattr(v, "as_dict"):
        return v.as_dict()
    if hasattr(v, "__dataclass_fields__"):
        return asdict(v)
    return str(v)


def emit(payload: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``payload`` as the one JSON document, or call ``human`` to render it."""
    if as_json:
        print(json.dumps(payload, default=_default, sort_keys=False))
    else:
        human()


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*("" if v is None else (f"{v:,.4g}" if isinstance(v, float) else str(v)) for v in r))
    return t


@contextmanager
def progress(enabled: bool = True):
    """A rich progress bar on stderr (a no-op object when disabled, e.g. under --json)."""
    if not enabled:
        yield _NoProgress()
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=False,
    ) as p:
        yield p


class _NoProgress:
    def add_task(self, *a, **k) -> int:
        return 0

    def update(self, *a, **k) -> None:
        pass

    def advance(self, *a, **k) -> None:
        pass
