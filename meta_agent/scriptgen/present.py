"""What people read about a request: markdown for Dagster metadata and the CLI.

Plain strings and dicts (no Dagster here); the assets wrap them in ``MetadataValue.md``.
"""

from __future__ import annotations

import math
from typing import Any

from meta_agent.reporting import fmt, markdown_table
from meta_agent.scriptgen import vocabulary as V
from meta_agent.scriptgen.requirements import PlanOutcome
from meta_agent.scriptgen.validator import ValidationReport

MAX_SCRIPT_CHARS = 60_000


def request_markdown(req: dict[str, Any]) -> str:
    lines = [f"> {req['text']}", "", f"- id: `{req['request_id']}`", f"- source: {req['source']}"
             + (f" (`{req['source_ref']}`)" if req.get("source_ref") else ""),
             f"- submitted: {req['submitted_at']:%Y-%m-%d %H:%M:%S} UTC"]
    if req.get("output_format"):
        lines.append(f"- format asked: {req['output_format']}")
    return "\n".join(lines)


def plan_markdown(outcome: PlanOutcome) -> str:
    """The plan (goal, what it does not handle, the scenario, steps, parameters, outputs,
    assumptions) or the refusal with the closest tools."""
    if outcome.ok:
        return outcome.requirements.to_markdown()
    r = outcome.refusal
    rows = [{"tool": t.name, "score": t.score, "description": t.description} for t in r.closest_tools]
    return "\n".join([f"**Not planned ({r.planner} planner):** {r.reason}", "", r.hint, "",
                      "**Closest tools**", "", markdown_table(rows) if rows else "_none_"])


def script_markdown(source: str) -> str:
    body = source if len(source) <= MAX_SCRIPT_CHARS else source[:MAX_SCRIPT_CHARS] + "\n# ... (truncated)\n"
    return f"```python\n{body}```"


def validation_markdown(report: ValidationReport) -> str:
    head = f"**{report.summary()}** ({report.duration_ms:.0f} ms; script language: {report.language})"
    if not report.findings:
        return head + "\n\nNo findings: every construct is on the script language's lists; no secrets."
    rows = [{"line": f.line, "rule": f.rule, "message": f.message, "fix": f.fix} for f in report.findings]
    return head + "\n\n" + markdown_table(rows, max_rows=100)


def outputs_markdown(outputs: list[dict[str, Any]], results_dir: str) -> str:
    if not outputs:
        return "_no files_"
    rows = [{"file": o["path"], "format": o["format"], "bytes": o["size_bytes"],
             "path": f"{results_dir}/{o['path']}"} for o in outputs]
    return markdown_table(rows)


def _num(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    unit = V.METRICS[metric].unit if metric in V.METRICS else ""
    if unit == "%":
        return f"{value * 100:.2f}%"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "$":
        return f"${value:,.0f}"
    return fmt(value)


def key_figures_rows(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per figure: count, mean, min, max (from result.json's key_figures), and the
    aggregate the plan asked for when it asked for one ("mean 93.10%")."""
    kf = (result or {}).get("key_figures") or {}
    aggregates = {a.get("metric"): a for a in kf.get("aggregates") or [] if isinstance(a, dict)}
    rows = []
    for metric in (result or {}).get("metrics") or []:
        f = kf.get(metric) or {}
        row = {"figure": V.METRICS[metric].label if metric in V.METRICS else metric,
               "properties": f.get("count", 0), "undefined": f.get("undefined", 0),
               "mean": _num(metric, f.get("mean")), "min": _num(metric, f.get("min")),
               "max": _num(metric, f.get("max"))}
        if aggregates:
            a = aggregates.get(metric) or {}
            row["aggregate"] = f"{a.get('op', '')} {_num(metric, a.get('value'))}".strip() if a else "n/a"
        rows.append(row)
    if not rows and kf:
        rows.append({"figure": "properties", "properties": kf.get("properties", 0)})
    return rows


def values_markdown(result: dict[str, Any] | None, limit: int = 30) -> str:
    """The per-property values (first ``limit``) as a table."""
    if not result:
        return "_no result.json_"
    metrics = result.get("metrics") or []
    rows = []
    for row in (result.get("table") or [])[:limit]:
        out = {"property": row.get("property_id"), "name": row.get("name")}
        for m in metrics:
            out[V.METRICS[m].label if m in V.METRICS else m] = _num(m, row.get(m))
        rows.append(out)
    return markdown_table(rows, max_rows=limit) if rows else f"_{result.get('status')}: {result.get('message') or 'no rows'}_"
