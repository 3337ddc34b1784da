"""What a person reads about a simulation: the numbers of a scenario run and the comparison of
a request's scenarios, as plain values, rows and markdown (the Dagster layer wraps them in
metadata; the CLI prints them).

Charts come twice (``meta_agent.simulation.charts``): a compact SVG that renders inline on the
asset page, and the PNG one click away, kept as a file beside the comparison's JSON.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meta_agent import units
from meta_agent.ops.verdicts import Verdict
from meta_agent.portfolio import worlds
from meta_agent.reporting import markdown_table
from meta_agent.scriptgen import vocabulary as V
from meta_agent.simulation import charts, compare
from meta_agent.simulation.runner import ScenarioOutcome

MAX_CHART_ROWS = 8


def shown(metric: str, value: float | None) -> str:
    """A figure in its unit: DSCR 1.45x, cap rate 6.5 %, NOI $1.2M."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    unit = V.METRICS[metric].unit if metric in V.METRICS else ""
    if unit == "%":
        return units.pct(value, 2)
    if unit == "$":
        return units.usd(value)
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.4g}"


def unit_of(metric: str) -> str:
    return {"x": "x", "%": "", "$": "$"}.get(V.METRICS[metric].unit if metric in V.METRICS else "", "")


def value_rows(out: ScenarioOutcome) -> list[dict[str, Any]]:
    return [{"property_id": pid, "metric": m, "value": v.get(m), "shown": shown(m, v.get(m))}
            for pid, v in out.values.items() for m in out.metrics]


def _risk_text(p: dict[str, Any] | None) -> str:
    if not p or p.get("p") is None:
        return ""
    return f"{p['p']:.2%} ± {p['se']:.2%}"


def monte_carlo_rows(out: ScenarioOutcome) -> list[dict[str, Any]]:
    mc = out.monte_carlo or {}
    risk = {r["metric"]: r for r in mc.get("risk", [])}
    rows = []
    for pid, by_metric in (mc.get("per_property") or {}).items():
        for m, s in by_metric.items():
            r = risk.get(m)
            rows.append({"property_id": pid, "metric": m, "mean": s.get("mean"), "p5": s.get("p5"),
                         "p50": s.get("p50"), "p95": s.get("p95"), "cvar_95": s.get("cvar_95"),
                         "risk": (f"P({m} {'<' if r['op'] == 'below' else '>'} {r['threshold']:g}) = "
                                  f"{_risk_text(r['per_property'].get(pid))}") if r else ""})
    for m, s in (mc.get("portfolio") or {}).items():
        r = risk.get(m)
        rows.append({"property_id": "portfolio (mean)", "metric": m, "mean": s.get("mean"), "p5": s.get("p5"),
                     "p50": s.get("p50"), "p95": s.get("p95"), "cvar_95": s.get("cvar_95"),
                     "risk": (f"P({m} {'<' if r['op'] == 'below' else '>'} {r['threshold']:g}) = "
                              f"{_risk_text(r['portfolio'])}") if r else ""})
    return rows


def scenario_run_metadata(out: ScenarioOutcome) -> tuple[dict[str, Any], dict[str, str]]:
    """(scalars, markdown) for the scenario_run page: each partition its own numbers; charts
    as inline SVG markdown."""
    md: dict[str, str] = {}
    meta: dict[str, Any] = {"outcome": "refused" if out.status == "refused" else "ran", "status": out.status,
                            "scenario": out.name, "drivers": out.description, "message": out.message,
                            "runs": len(out.runs), "duration_s": round(out.duration_s, 3)}
    if out.runs:
        last = out.runs[-1]
        meta |= {"runner": last["runner"], "isolation": last["isolation"], "provenance": last["provenance"],
                 "guard": bool(last["guard"])}
    meta["properties"] = len(out.values)
    for m, v in out.portfolio.items():
        if v is not None:
            meta[f"portfolio_{m}"] = float(v)
    for e in out.expected:
        meta[f"expected_{e['metric']}_range"] = f"{e['range'][0]:g} – {e['range'][1]:g}"
        meta[f"{e['metric']}_in_range"] = bool(e["in_range"]) if e["in_range"] is not None else "unknown"
        meta[f"{e['metric']}_properties_outside"] = len(e["outside"])
    mc = out.monte_carlo
    if mc:
        meta |= {"iterations": mc["iterations"], "seed": mc["seed"], "convergence": mc["convergence"],
                 "monte_carlo_s": round(mc["duration_s"], 3), "samples_clipped": sum((mc.get("clipped") or {}).values()),
                 "monte_carlo_notes": "; ".join(mc.get("notes") or []) or "none"}
        for r in mc["risk"]:
            if r["portfolio"]["p"] is not None:
                meta[f"p_portfolio_{r['metric']}_{r['op']}_{r['threshold']:g}"] = float(r["portfolio"]["p"])
        lead = mc["metrics"][0]
        rows = [{"label": pid, **{k: s[lead].get(k) for k in ("p5", "p50", "p95")}}
                for pid, s in list(mc["per_property"].items())[:MAX_CHART_ROWS]]
        risk = next((r["threshold"] for r in mc["risk"] if r["metric"] == lead), None)
        chart = charts.distribution_svg([{**r, "threshold": risk} for r in rows], alt=f"{lead} per property",
                                        metric=lead, unit=unit_of(lead))
        if chart.fits:
            md["distribution"] = chart.markdown(f"{lead} per property")
        if mc.get("fan", {}).get("bands"):
            fan = charts.fan_svg(mc["fan"]["periods"], mc["fan"]["bands"], alt="portfolio operating cash flow by period",
                                 unit="$")
            if fan.fits:
                md["fan"] = fan.markdown("portfolio operating cash flow by period")
    if out.tornado:
        base_value = out.tornado[0].get("base_value")
        t = charts.tornado_svg(out.tornado, base_value, alt=f"tornado: portfolio {out.tornado_metric}",
                               unit=unit_of(out.tornado_metric or ""))
        if t.fits:
            md["tornado"] = t.markdown(f"tornado: portfolio {out.tornado_metric}")
    if out.sobol:
        md["sobol"] = (markdown_table([{"driver": k, "first order": f"{v['first_order']:.3f}",
                                                "total": f"{v['total']:.3f}"} for k, v in out.sobol["indices"].items()]))
    if out.repeat:
        meta |= {"pass_rate": float(out.repeat.get("pass_rate", 0.0)),
                 "repeat": json.dumps({k: v for k, v in out.repeat.items()}, default=str)}
    return meta, md


@dataclass
class ComparisonReport:
    request_id: str
    sentence: str
    rows: list[dict[str, Any]]
    metadata: dict[str, Any]
    markdown: dict[str, str]
    findings_md: str
    summary: dict[str, Any]
    path: Path
    charts: dict[str, str] = field(default_factory=dict)  # name -> PNG path


def is_base(out: ScenarioOutcome) -> bool:
    return out.monte_carlo is None and worlds.is_neutral(out.drivers)


def comparison_inputs(outcomes: list[ScenarioOutcome]) -> list[dict[str, Any]]:
    return [{"scenario": o.scenario_key, "name": o.name, "is_base": is_base(o),
             "status": "succeeded" if o.ok else o.status, "values": o.values, "portfolio": o.portfolio}
            for o in outcomes]


def _png_md(path: Path | None, alt: str) -> str:
    if path is None:
        return f"_no chart: {alt} has no data_"
    return f"![{alt}](data:image/png;base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')})"


def comparison(request_id: str, outcomes: list[ScenarioOutcome], out_dir: Path) -> ComparisonReport:
    """The request's scenarios side by side (``compare.compare``), its findings, its charts."""
    metrics = list(dict.fromkeys(m for o in outcomes for m in o.metrics))
    result = compare.compare(comparison_inputs(outcomes), metrics)
    expected = {(o.scenario_key, e["metric"]): e for o in outcomes for e in o.expected}
    rows = []
    for r in result["rows"]:
        e = expected.get((r["scenario"], r["metric"]))
        verdict = "" if e is None else (f"{e['range'][0]:g}–{e['range'][1]:g}: "
                                        + {True: "in range", False: "OUTSIDE", None: "unknown"}[e["in_range"]])
        rows.append({**r, "expected": verdict, "shown": shown(r["metric"], r["value"]),
                     "delta_shown": "" if r["delta_pct"] is None else f"{r['delta_pct']:+.1f} %",
                     "robust_z": None if r["robust_z"] is None else round(r["robust_z"], 2)})
    broken = [(o, e) for o in outcomes for e in o.out_of_range]
    findings = [f"- outlier: {s}" for s in result["outliers"]]
    findings += [f"- {o.name}: portfolio {e['metric']} {shown(e['metric'], e['portfolio_mean'])} is outside the "
                 f"expected {e['range'][0]:g}–{e['range'][1]:g}; properties outside: "
                 + (", ".join(x["property_id"] for x in e["outside"][:12]) or "none") for o, e in broken]
    findings += [f"- {f['name']}: {f['status']}" for f in result["failed"]]
    findings += [f"- note: {n}" for n in result["notes"]]
    lead = metrics[0] if metrics else None
    directory = Path(out_dir) / request_id
    directory.mkdir(parents=True, exist_ok=True)
    markdown: dict[str, str] = {}
    pngs: dict[str, str] = {}
    if lead:
        dist_rows = []
        base_value = next((o.portfolio.get(lead) for o in outcomes if is_base(o)), None)
        threshold = None
        for o in outcomes[:MAX_CHART_ROWS]:
            mc = (o.monte_carlo or {}).get("portfolio", {}).get(lead)
            if mc:
                dist_rows.append({"label": o.scenario_key, "p5": mc["p5"], "p50": mc["p50"], "p95": mc["p95"],
                                  "base": base_value})
                threshold = next((r["threshold"] for r in o.monte_carlo["risk"] if r["metric"] == lead), threshold)
            elif o.portfolio.get(lead) is not None:
                v = o.portfolio[lead]
                dist_rows.append({"label": o.scenario_key, "p5": v, "p50": v, "p95": v, "base": base_value})
        for r in dist_rows:
            r["threshold"] = threshold
        chart = charts.distribution_svg(dist_rows, alt=f"portfolio {lead} per scenario", metric=lead, unit=unit_of(lead))
        markdown["distribution"] = chart.markdown(f"portfolio {lead} per scenario") if chart.fits else ""
        png = charts.distribution_png(dist_rows, directory / f"distribution-{lead}.png",
                                      f"Portfolio {lead} per scenario ({request_id})", unit_of(lead), metric=lead)
        if png:
            pngs["distribution"] = str(png)
        with_tornado = sorted((o for o in outcomes if o.tornado), key=lambda o: o.monte_carlo is None)
        if with_tornado:
            o = with_tornado[0]
            alt = f"tornado ({o.scenario_key}): portfolio {o.tornado_metric}"
            t = charts.tornado_svg(o.tornado, o.tornado[0]["base_value"], alt=alt, unit=unit_of(o.tornado_metric or ""))
            markdown["tornado"] = t.markdown(alt) if t.fits else ""
            png = charts.tornado_png(o.tornado, o.tornado[0]["base_value"], directory / "tornado.png",
                                     f"Tornado: portfolio {o.tornado_metric} under {o.name}",
                                     unit_of(o.tornado_metric or ""), metric=o.tornado_metric or "value")
            if png:
                pngs["tornado"] = str(png)
        fan_source = next((o for o in outcomes if (o.monte_carlo or {}).get("fan", {}).get("bands")), None)
        if fan_source:
            fan = fan_source.monte_carlo["fan"]
            alt = f"operating cash flow by period ({fan_source.scenario_key})"
            f = charts.fan_svg(fan["periods"], fan["bands"], alt=alt, unit="$")
            markdown["fan"] = f.markdown(alt) if f.fits else ""
            png = charts.fan_png(fan["periods"], fan["bands"], directory / "fan.png",
                                 f"Portfolio operating cash flow under {fan_source.name}", "$",
                                 metric="operating cash flow", x_label="period")
            if png:
                pngs["fan"] = str(png)
    markdown = {k: v for k, v in markdown.items() if v}
    for name, p in pngs.items():
        markdown[f"{name}_png"] = _png_md(Path(p), name)
    outliers = [r["scenario"] for r in result["rows"] if r.get("outlier")]
    sentence = (f"{len(outcomes)} scenarios for {request_id}; {len(result['outliers'])} outlying figure(s)"
                + (f" ({', '.join(dict.fromkeys(outliers))})" if outliers else "")
                + f"; {len(broken)} expected range(s) broken"
                + (f" ({', '.join(o.scenario_key for o, _ in broken)})" if broken else "")
                + (f"; {len(result['failed'])} failed" if result["failed"] else ""))
    summary = {"request_id": request_id, "sentence": sentence, "metrics": metrics, "base": result["base"],
               "rows": rows, "properties": result["properties"], "outliers": result["outliers"],
               "broken_ranges": [{"scenario": o.scenario_key, **e} for o, e in broken],
               "failed": result["failed"], "notes": result["notes"], "charts": pngs}
    path = directory / "comparison.json"
    path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    metadata = {"scenarios": len(outcomes), "outliers": len(result["outliers"]), "broken_ranges": len(broken),
                "failed": len(result["failed"]), "base": result["base"] or "", "summary": sentence}
    return ComparisonReport(request_id=request_id, sentence=sentence, rows=rows, metadata=metadata,
                            markdown=markdown, findings_md="\n".join(findings) or "_no outliers, every range held_",
                            summary=summary, path=path, charts=pngs)


def expected_check_verdict(row: dict | None, stated: int) -> Verdict:
    """The stored scenario run's expected-outcome verdict as a check verdict: WARN outside a
    range, and WARN when a stated range could not be checked (the run failed or was refused,
    or its script does not report the metric)."""
    if row is None or row["status"] not in ("succeeded", "no_data"):
        status = "no run" if row is None else row["status"]
        return Verdict(stated == 0, "warn", f"not checked: the scenario run is {status}"
                       + (f" ({stated} expected range(s) stated)" if stated else ""), {"ranges": stated})
    expected = (row.get("result") or {}).get("expected") or []
    unchecked = [e for e in expected if e["in_range"] is None]
    broken = [e for e in expected if e["in_range"] is False]
    rows = [{"metric": e["metric"], "range": f"{e['range'][0]:g} – {e['range'][1]:g}",
             "portfolio_mean": e["portfolio_mean"],
             "outside": ", ".join(f"{x['property_id']} {x['value']:.3g}" for x in e["outside"][:20])} for e in expected]
    if not expected:
        return Verdict(True, "warn", "the scenario states no expected outcome", {"ranges": 0}, rows)
    text = "; ".join([*(f"{e['metric']} {e['portfolio_mean']:.4g} outside {e['range'][0]:g}–{e['range'][1]:g} "
                        f"({len(e['outside'])} properties outside)" for e in broken),
                      *(f"{e['metric']} not reported by the script: its range is not checked" for e in unchecked)])
    return Verdict(not broken and not unchecked, "warn", text or f"{len(expected)} expected range(s) held",
                   {"ranges": len(expected), "broken": len(broken), "unchecked": len(unchecked)}, rows)
