"""The evaluation report as markdown (the ops DB, Dagster metadata) and as one standalone HTML
page (inline CSS and SVG charts, no external asset), from ``templates/report.html.j2``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from meta_agent import units
from meta_agent.charts import sparkline_svg
from meta_agent.evaluation.stats import Change

# ``report`` below is a ``meta_agent.evaluation.report.EvaluationReport``; that module imports
# this one, so the type is not imported back (the import graph has no cycles, typing ones included).
EvaluationReport = Any

TEMPLATES_DIR = Path(__file__).parent / "templates"
METHODOLOGY = "docs/evaluation-report.md"

METRICS = {  # metric → (label, unit, higher is better)
    "success_rate": ("success rate", "ratio", True),
    "timeout_rate": ("timeout rate", "ratio", False),
    "human_intervention_rate": ("human-intervention rate", "ratio", False),
    "latency_p50_ms": ("p50 latency", "ms", False),
    "latency_p95_ms": ("p95 latency", "ms", False),
    "cost_per_execution_usd": ("cost per execution", "usd", False),
    "cost_per_success_usd": ("cost per success", "usd", False),
    "mean_score": ("mean quality score", "score", True),
}


COMPONENTS = {  # score component → label
    "success_rate": "success rate", "timeout_rate": "timeout rate", "latency_p95_ms": "p95 latency",
    "latency_p50_ms": "p50 latency", "retries_per_success": "retries per success",
    "cost_per_success_usd": "cost per success", "daily_cost_usd": "daily cost", "mean_score": "mean score",
    "human_intervention_rate": "human-intervention rate",
}


def component_label(name: str) -> str:
    return COMPONENTS.get(name, name.replace("_", " "))


# ---------------------------------------------------------------- formatting (one place)

def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if unit == "ratio":
        return units.pct(value)
    if unit == "ms":
        return units.duration_ms(value)
    if unit == "usd":  # under a dollar: two significant digits ($0.0061, $0.012), else units.usd
        return f"${value:.2g}" if 0 < abs(value) < 1 else units.usd(value)
    if unit == "score":
        return f"{value:.2f}"
    return units.number(value)


def fmt_rel(r: float | None) -> str:
    if r is None or not math.isfinite(r):
        return "n/a"
    return f"{r * 100:+.1f} %" if abs(r) < 0.1 else f"{r * 100:+.0f} %"


def fmt_pp(d: float | None) -> str:
    return "n/a" if d is None else f"{d * 100:+.1f} pp"


def fmt_score(s: float | None) -> str:
    return "n/a" if s is None else f"{s:.0f}"


def change_size(c: Change) -> str:
    """``+205 %, 95 % CI +180 % to +230 %`` (rates in percentage points: ``-5.3 pp, 95 % CI
    -6.8 pp to -3.9 pp``)."""
    if c.delta is None:
        return "n/a"
    if c.unit == "ratio":
        ci = "" if c.ci_low is None else f", 95 % CI {fmt_pp(c.ci_low)} to {fmt_pp(c.ci_high)}"
        return f"{fmt_pp(c.delta)}{ci}"
    lo, hi = c.relative_ci
    ci = "" if lo is None else f", 95 % CI {fmt_rel(lo)} to {fmt_rel(hi)}"
    return f"{fmt_rel(c.relative)}{ci}"


# ---------------------------------------------------------------- rendering


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), undefined=jinja2.StrictUndefined,
                              autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                              lstrip_blocks=True)


def _rows(report: EvaluationReport) -> dict:
    labels = METRICS
    scores = []
    for k, s in report.scores.items():
        inputs = "; ".join(
            f"{component_label(c.name)} {fmt(c.value, _u(c.unit))} vs {fmt(c.target, _u(c.unit))} "
            f"({c.source}) → {fmt_score(c.score)}" for c in s.components)
        scores.append({"dimension": k, "score": fmt_score(s.score), "inputs": inputs or "no data",
                       "note": s.note, "unscored": s.unscored})
    changes = []
    for c in report.changes:
        p = "" if c.p_value is None else f"{c.p_value:.3g}"
        p_adj = "" if c.p_adjusted is None else f"{c.p_adjusted:.3g}"
        changes.append({"metric": labels[c.metric][0], "before": fmt(c.before, c.unit), "after": fmt(c.after, c.unit),
                        "change": change_size(c), "test": c.test, "p": p, "p_adj": p_adj, "verdict": c.verdict,
                        "n": f"{units.count(c.n_before)} → {units.count(c.n_after)}"})
    return {"scores": scores, "changes": changes, "overall": fmt_score(report.overall)}


def _u(unit: str) -> str:
    return "plain" if unit == "count" else unit


def markdown(report: EvaluationReport, narrative: str | None = None) -> str:
    rows = _rows(report)
    out = [f"# Evaluation report: {report.agent_id}", "",
           f"Period {report.period_start.isoformat()} to {report.period_end.isoformat()} "
           f"({units.count(report.current.executions)} executions), compared with "
           f"{report.previous_start.isoformat()} to {report.previous_end.isoformat()} "
           f"({units.count(report.previous.executions)} executions).", "",
           f"**Overall {rows['overall']}/100 · risk {report.risk_level}** ({'; '.join(report.risk_reasons)})", "",
           "## Summary", "", narrative or report.summary, "",
           "## Scores", "", "| dimension | score | inputs |", "|---|---:|---|"]
    for s in rows["scores"]:
        flag = " (unscored)" if s["unscored"] else ""
        out.append(f"| {s['dimension']}{flag} | {s['score']} | {s['inputs']} |")
    out += ["", "## Changes from the previous period", "",
            "| metric | before | after | change (95 % CI) | test | p | p (Holm) | verdict |",
            "|---|---:|---:|---|---|---:|---:|---|"]
    for c in rows["changes"]:
        out.append(f"| {c['metric']} | {c['before']} | {c['after']} | {c['change']} | {c['test']} | {c['p']} | "
                   f"{c['p_adj']} | {c['verdict']} |")
    for title, items in (("Strengths", report.strengths), ("Weaknesses", report.weaknesses)):
        out += ["", f"## {title}", ""] + ([f"- {x}" for x in items] or ["- none"])
    out += ["", "## Recommendations", ""]
    out += [f"{i}. **[{r.severity}]** {r.text}" for i, r in enumerate(report.recommendations, 1)] or ["- none"]
    out += ["", f"Methodology: {METHODOLOGY} (Holm-corrected at α = 0.05; fewer than 20 observations: "
            "insufficient data)."]
    return "\n".join(out) + "\n"


def _chart(values, color: str) -> Markup:
    return Markup(sparkline_svg(values, width=320, height=56, color=color))  # noqa: S704 - our SVG of numbers


def html(report: EvaluationReport, narrative: str | None = None) -> str:
    rows = _rows(report)
    days = [r["day"] for r in report.daily]
    p95 = [r.get("latency_p95_ms") for r in report.daily]
    sr = [r.get("success_rate") for r in report.daily]
    charts = [
        {"title": "p95 latency per day", "svg": _chart(p95, "#4f43dd"),
         "range": f"{units.duration_ms(min((v for v in p95 if v is not None), default=None))} – "
                  f"{units.duration_ms(max((v for v in p95 if v is not None), default=None))}"},
        {"title": "success rate per day", "svg": _chart(sr, "#1a7f37"),
         "range": f"{units.pct(min((v for v in sr if v is not None), default=None))} – "
                  f"{units.pct(max((v for v in sr if v is not None), default=None))}"},
    ]
    return _env().get_template("report.html.j2").render(
        r=report, rows=rows, narrative=narrative or report.summary, charts=charts,
        first_day=days[0] if days else "", last_day=days[-1] if days else "", methodology=METHODOLOGY)
