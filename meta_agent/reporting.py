"""Rendering helpers for reports that people read (Dagster metadata, CLI, digests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:,.4g}" if abs(value) < 1_000 else f"{value:,.0f}"  # never 1.516e+04
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None,
                   max_rows: int = 50) -> str:
    """A GitHub-flavoured markdown table of ``rows`` (first ``max_rows``, with a note if cut)."""
    rows = list(rows)
    if not rows:
        return "_no rows_"
    columns = list(columns or rows[0].keys())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows[:max_rows]:
        lines.append("| " + " | ".join(fmt(r.get(c)) for c in columns) + " |")
    if len(rows) > max_rows:
        lines.append(f"\n_{len(rows) - max_rows} more rows not shown_")
    return "\n".join(lines)
