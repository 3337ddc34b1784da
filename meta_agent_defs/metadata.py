"""Metadata a person reads on an asset page: tables with a column schema, markdown, charts.

Every capability builds its metadata with these helpers, so tables, units and charts look
the same everywhere in the UI. Formatting of values (units, percentages) is the library's
(``meta_agent.reporting``); this module only wraps it in Dagster metadata values.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from meta_agent.charts import sparkline_svg
from meta_agent.reporting import markdown_table


@dataclass(frozen=True)
class Column:
    """One column of a ``table``: its key in the rows, its type in the UI and what it means."""

    name: str
    type: str = "string"  # string | int | float | bool
    description: str | None = None


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], max_rows: int = 500) -> dg.TableMetadataValue:
    """``MetadataValue.table`` with a ``TableSchema``: the UI shows typed, described columns."""
    schema = dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.description) for c in columns])
    records = [dg.TableRecord({c.name: _cell(r.get(c.name), c.type) for c in columns}) for r in rows[:max_rows]]
    return dg.MetadataValue.table(records=records, schema=schema)


def _cell(value: Any, kind: str) -> Any:
    """TableRecord values must be str/int/float/bool; None shows as an empty string cell."""
    if value is None or (isinstance(value, float) and value != value):
        return "" if kind == "string" else None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return str(value)


def md_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
             max_rows: int = 50, empty: str = "_none_") -> dg.MarkdownMetadataValue:
    """A markdown table (for prose-like tables mixed with text); ``empty`` when no rows."""
    return dg.MetadataValue.md(markdown_table(rows, columns, max_rows=max_rows) if rows else empty)


def chart(png: bytes | Path | None, alt: str) -> dg.MarkdownMetadataValue:
    """A PNG chart shown on the asset page: markdown with the image inline as a data URI (the
    UI renders it; a file path it cannot). The file, when given, stays as the artifact."""
    if png is None:
        return dg.MetadataValue.md(f"_no chart: {alt} has no data yet_")
    data = png.read_bytes() if isinstance(png, Path) else png
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})")


def sparkline(values: Sequence[float | None], alt: str, caption: str = "") -> dg.MarkdownMetadataValue:
    """A trend that shows inline on the asset page, without a click (an SVG data URI kept under
    the UI's 1,000-character limit for inline markdown)."""
    svg = base64.b64encode(sparkline_svg(values).encode()).decode("ascii")
    return dg.MetadataValue.md(f"![{alt}](data:image/svg+xml;base64,{svg}) {caption}".rstrip())


def path(p: str | Path | None) -> dg.PathMetadataValue | dg.TextMetadataValue:
    return dg.MetadataValue.path(str(p)) if p else dg.MetadataValue.text("")
