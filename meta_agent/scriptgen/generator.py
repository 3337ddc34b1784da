"""Script generation: a plan rendered through the Jinja2 templates into a Python script.

Templates (``templates/``): ``base`` (the contract: prologue, helpers, ``main``, result.json),
``database`` (reads), ``calculation`` (one figure per property), ``analysis`` (several figures,
ranking, group summaries) and ``report`` (a PDF report). ``_steps`` holds one macro per kind
of plan step. The output depends only on the plan's *shape* — never on parameter values — so
two requests of the same shape get the same script (and the library can reuse it).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import jinja2

from meta_agent.scriptgen import vocabulary as V
from meta_agent.scriptgen.derive import (
    CASH_FLOW_QUERY,
    FIN_COLUMNS,
    PROPERTY_COLUMNS,
    RATIO_METRICS,
    needs_financials,
    shape_description,
)
from meta_agent.scriptgen.requirements import ScriptRequirements

TEMPLATES_DIR = Path(__file__).with_name("templates")
TEMPLATE_NAMES = ("base", "database", "calculation", "analysis", "report")


@functools.cache
def environment() -> jinja2.Environment:
    # Templates render Python source, not HTML: autoescape would corrupt it (values go
    # through |tojson, which yields valid Python literals for str/num/bool/list/dict).
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 — Python source, not HTML
    )
    env.filters["py"] = py_literal
    return env


def py_literal(value) -> str:
    """A Python literal for a JSON-like value (what ``|py`` puts into the generated code)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} into a script")


def script_id(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:24]


def render(req: ScriptRequirements) -> str:
    """The script for ``req`` (deterministic in the plan's shape)."""
    env = environment()
    template = env.get_template(f"{req.template}.py.j2")
    source = template.render(**context(req))
    return _tidy(source)


def context(req: ScriptRequirements) -> dict:
    metrics = list(req.metrics)
    p = req.parameters
    fin_cols = sorted({c for m in metrics for c in FIN_COLUMNS.get(m, [])})
    prop_cols = sorted({c for m in metrics for c in PROPERTY_COLUMNS.get(m, [])})
    first = metrics[0] if metrics else "current_value"
    agg: dict[str, list[str] | str] = {"property_id": "count"}
    for m in metrics:
        agg[m] = ["sum", "mean"] if V.METRICS[m].unit == "$" else ["mean", "min", "max"]
    chart_y_summary = f"{first}_{'sum' if metrics and V.METRICS[first].unit == '$' else 'mean'}" if metrics \
        else "property_id_count"
    title = shape_description(req)
    ctx = {
        "listing": not metrics,
        "has_financials": needs_financials(metrics),
        "has_cash_flows": "irr" in metrics or "npv" in metrics,
        "has_roi": "roi" in metrics,
        "fin_cols": fin_cols,
        "prop_cols": prop_cols,
        "ratio_metrics": [m for m in metrics if m in RATIO_METRICS],
        "cash_flow_query": CASH_FLOW_QUERY,
        "aggregate_spec": agg,
        "title": title[0].upper() + title[1:],
        "chart_y": first,
        "chart_y_summary": chart_y_summary,
        "chart_title": (V.METRICS[first].label if metrics else "current value") + " by property",
        "pdf_columns": ["property_id", "name", "property_type", "city", "year", *metrics]
        if metrics else ["property_id", "name", "property_type", "city", "units", "purchase_price", "current_value"],
    }
    return {
        "title": ctx["title"],
        "template": req.template,
        "fingerprint": req.fingerprint(),
        "shape": shape_description(req),
        "metrics": metrics,
        "steps": [{**s.model_dump(), "description": script_step_text(s)} for s in req.steps],
        "has_thresholds": bool(p.thresholds),
        "ctx": ctx,
    }


def script_step_text(step) -> str:
    """What the script logs for a step: the plan's words without parameter values."""
    generic = {
        "filter": "keep the properties that meet the thresholds in the parameters",
        "rank": "sort by the ranking in the parameters (and keep the top N when given)",
        "aggregate": "summarize the figures by the group in the parameters",
    }
    if step.kind in generic:
        return generic[step.kind]
    if step.tool == "calculate_roi":
        return "ROI from purchase price, current value and NOI received (annualized when asked)"
    return step.description


def _tidy(source: str) -> str:
    """Collapse runs of blank lines the blocks leave behind (3+ newlines -> 2 blank lines max)."""
    lines = source.splitlines()
    out: list[str] = []
    blank = 0
    for line in lines:
        if line.strip():
            blank = 0
            out.append(line.rstrip())
        else:
            blank += 1
            if blank <= 2:
                out.append("")
    return "\n".join(out).rstrip() + "\n"
