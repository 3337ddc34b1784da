"""The execution layer of a plan, derived deterministically from the analysis layer.

Given metrics and parameters, ``derive`` fills tools, inputs, outputs, ordered steps, the
template and a goal sentence. Steps name their tool (``None`` for a few lines of Python
glue) and where each argument comes from, which is what the plan shows people and what the
templates render.
"""

from __future__ import annotations

from meta_agent.scriptgen import vocabulary as V
from meta_agent.scriptgen.requirements import InputSpec, OutputSpec, PlanStep, ScriptRequirements

CASH_FLOW_QUERY = ("SELECT property_id, period, year, amount FROM cash_flows "
                   "ORDER BY property_id, period")
RATIO_METRICS = ("ltv", "debt_yield", "operating_expense_ratio", "break_even_occupancy")
FORMAT_TOOLS = {"csv": "export_to_csv", "xlsx": "export_to_excel", "pdf": "export_to_pdf", "json": None}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel", "pdf": "PDF", "json": "JSON"}
AGGREGATE_LABELS = {"mean": "mean", "sum": "total", "median": "median", "min": "minimum", "max": "maximum"}

# Financial columns each metric needs in the joined rows.
FIN_COLUMNS = {
    "dscr": ["noi", "debt_service"],
    "cap_rate": ["noi"],
    "noi": ["noi"],
    "occupancy": ["occupancy"],
    "debt_service": ["debt_service"],
    "cash_flow": ["cash_flow"],
    "debt_yield": ["noi"],
    "operating_expense_ratio": ["operating_expenses", "effective_gross_income"],
    "break_even_occupancy": ["operating_expenses", "debt_service", "potential_gross_income"],
}
PROPERTY_COLUMNS = {
    "cap_rate": ["current_value"],
    "ltv": ["current_value", "outstanding_balance"],
    "debt_yield": ["outstanding_balance"],
    "roi": ["purchase_price", "current_value", "acquisition_date", "valuation_date"],
}


def file_stem(metrics: list[str]) -> str:
    if not metrics:
        return "properties"
    stem = "_".join(metrics[:3]) + ("_and_more" if len(metrics) > 3 else "")
    return stem


def choose_template(req: ScriptRequirements) -> str:
    p = req.parameters
    computed = [m for m in req.metrics if V.METRICS[m].tool]
    if "pdf" in p.output_formats:
        return "report"
    if p.group_by or len(req.metrics) > 1 or p.ranking:
        return "analysis"
    if computed or req.metrics:
        return "calculation"
    return "database"


def needs_financials(metrics: list[str]) -> bool:
    return any("financials" in V.METRICS[m].sources for m in metrics)


def group_functions(metric: str) -> list[str]:
    """What the group summary (``aggregate_metrics`` by ``group_by``) computes for ``metric``:
    sum and mean of amounts, mean/min/max of ratios (the generator's ``aggregate_spec``)."""
    return ["sum", "mean"] if V.METRICS[metric].unit == "$" else ["mean", "min", "max"]


def group_covers(metrics: list[str], op: str | None, group_by: str | None) -> bool:
    """True when a grouped plan's summary already has ``op`` of every metric per group ("average
    cap rate by property type": the summary's mean), so no separate aggregate is needed."""
    return bool(op and group_by and metrics) and all(op in group_functions(m) for m in metrics)


def derive(req: ScriptRequirements) -> ScriptRequirements:
    """Fill the derived fields of ``req`` (returns a new, validated model)."""
    p = req.parameters
    metrics = list(req.metrics)
    steps: list[PlanStep] = []
    inputs: list[InputSpec] = []

    def step(kind: str, tool: str | None, description: str, args: dict[str, str] | None = None,
             output: str | None = None) -> None:
        steps.append(PlanStep(n=len(steps) + 1, kind=kind, tool=tool, description=description,
                              args=args or {}, output=output))

    prop_cols = sorted({c for m in metrics for c in PROPERTY_COLUMNS.get(m, [])})
    # the plan's generic parameters -> the tool's own arguments (every filter is applied to the rows too)
    step("fetch", "fetch_property_data", "read the properties (ids, type, city and loan) the request is about",
         {"property_ids": "params.entity_ids", "property_type": "params.filters.property_type (when one)",
          "city": "params.filters.city (when one)"}, "properties")
    inputs.append(InputSpec(source="portfolio.properties (+ loans)",
                            columns=["property_id", "name", "property_type", "city", *prop_cols],
                            filters=["entity_ids", "filters"]))
    if needs_financials(metrics):
        fin_cols = sorted({c for m in metrics for c in FIN_COLUMNS.get(m, [])})
        step("fetch", "fetch_financial_data", "read the year's operating financials of those properties",
             {"property_ids": "properties.property_id", "year": "params.year (latest when absent)"}, "financials")
        inputs.append(InputSpec(source="portfolio.financials", columns=["property_id", "year", *fin_cols],
                                filters=["year"]))
    if "irr" in metrics or "npv" in metrics:
        step("fetch", "query_database", "read the equity cash-flow series of every property (one SELECT)",
             {"query": "a fixed SELECT on cash_flows", "max_rows": "10000"}, "cash_flows")
        inputs.append(InputSpec(source="portfolio.cash_flows", columns=["property_id", "period", "amount"]))
    if "roi" in metrics:
        step("fetch", "aggregate_data", "total NOI received per property since acquisition",
             {"table": "financials", "metrics": "{noi: sum}", "group_by": "[property_id]"}, "noi_received")
        inputs.append(InputSpec(source="portfolio.financials (all years)", columns=["property_id", "noi"]))
    step("join", None, "one row per property with the columns the figures need", {}, "rows")

    for m in metrics:
        metric = V.METRICS[m]
        if m in RATIO_METRICS:
            continue
        if m == "dscr":
            step("compute", "calculate_dscr", "DSCR = NOI / debt service (NaN where a property has no debt)",
                 {"noi": "rows.noi", "debt_service": "rows.debt_service"}, "dscr")
        elif m == "cap_rate":
            step("compute", "calculate_cap_rate", "cap rate = NOI / current value",
                 {"noi": "rows.noi", "property_value": "rows.current_value"}, "cap_rate")
        elif m == "irr":
            step("compute", "calculate_irr", "IRR of each property's equity cash flows",
                 {"cashflows": "cash_flows per property"}, "irr")
        elif m == "npv":
            step("compute", "calculate_npv", "NPV of each property's equity cash flows at the discount rate",
                 {"rate": "params.discount_rate", "cashflows": "cash_flows per property"}, "npv")
        elif m == "roi":
            step("compute", "calculate_roi", "ROI from purchase price, current value and NOI received"
                 + (" (annualized)" if p.annualized else ""),
                 {"initial_investment": "rows.purchase_price", "final_value": "rows.current_value",
                  "income": "noi_received", "years": "years held (when annualized)"}, "roi")
        elif metric.tool is None:
            continue  # a column of the data
    ratios = [m for m in metrics if m in RATIO_METRICS]
    if ratios:
        args = {}
        for m in ratios:
            for col in PROPERTY_COLUMNS.get(m, []) + FIN_COLUMNS.get(m, []):
                target = {"current_value": "property_value", "outstanding_balance": "loan_amount"}.get(col, col)
                args[target] = f"rows.{col}"
        step("compute", "financial_ratios", f"lending ratios: {', '.join(V.METRICS[m].label for m in ratios)}",
             dict(sorted(args.items())), "ratios")
    if p.thresholds:
        conds = " and ".join(f"{V.METRICS[t.metric].label} {t.op} {_fmt(t.metric, t.value)}" for t in p.thresholds)
        step("filter", "filter_data", f"keep the properties where {conds}",
             {"data": "rows", "conditions": "params.thresholds"}, "rows")
    if p.ranking:
        r = p.ranking
        what = f"top {r.top_n}" if r.top_n else "all"
        step("rank", "transform_data", f"sort by {V.METRICS[r.metric].label} "
             f"({'highest' if r.order == 'desc' else 'lowest'} first), keep {what}",
             {"data": "rows", "operations": "sort (+ limit) from params.ranking"}, "rows")
    if p.group_by:
        step("aggregate", "aggregate_metrics", f"summarize the figures by {p.group_by.replace('_', ' ')}"
             + (f" (with the {p.aggregate} per group)" if p.aggregate else ""),
             {"data": "rows", "metrics": "mean/min/max per figure", "group_by": "params.group_by"}, "summary")
    if p.aggregate:  # the op is part of the shape, so the words can name it
        step("reduce", None, f"the {AGGREGATE_LABELS[p.aggregate]} of {', '.join(V.METRICS[m].label for m in metrics)}"
             " over the selected properties" + (" (and per group)" if p.group_by else ""),
             {"data": "rows", "op": "params.aggregate"}, "aggregate")
    stem = file_stem(metrics)
    outputs: list[OutputSpec] = []
    for fmt in p.output_formats:
        tool = FORMAT_TOOLS[fmt]
        path = f"{stem}.{fmt}"
        what = "the per-property table" + (" and the group summary" if p.group_by and fmt in ("xlsx", "pdf") else "")
        if p.aggregate and fmt == "xlsx":
            what += " and the aggregate"
        if fmt == "pdf":
            what = "a report: title, notes" + (" (with the aggregate)" if p.aggregate else "") + \
                ", the table and a bar chart"
        step("export", tool, f"write {what} as {FORMAT_LABELS[fmt]}",
             {"data": "summary" if p.group_by and fmt == "pdf" else "rows", "path": path}, path)
        outputs.append(OutputSpec(path=path, format=fmt, description=what))
        if p.group_by and fmt == "csv":
            spath = f"{stem}_summary.csv"
            step("export", tool, "write the group summary as CSV", {"data": "summary", "path": spath}, spath)
            outputs.append(OutputSpec(path=spath, format="csv", description="the group summary"))
        if p.aggregate and fmt == "csv":
            apath = f"{stem}_aggregate.csv"
            step("export", tool, "write the aggregate as CSV", {"data": "aggregate", "path": apath}, apath)
            outputs.append(OutputSpec(path=apath, format="csv", description="the aggregate of each figure"))
    step("summarize", None, "write result.json: key figures, per-property values, outputs", {}, "result.json")
    outputs.append(OutputSpec(path="result.json", format="json", description="machine-readable result and key figures"))
    tools = []
    for s in steps:
        if s.tool and s.tool not in tools:
            tools.append(s.tool)
    data = req.model_dump()
    data.update(template=choose_template(req), tools=tools,
                inputs=[i.model_dump() for i in inputs], outputs=[o.model_dump() for o in outputs],
                steps=[s.model_dump() for s in steps], goal=req.goal or goal_sentence(req))
    return ScriptRequirements.model_validate(data)


def _fmt(metric: str, value: float) -> str:
    unit = V.METRICS[metric].unit
    if unit == "%":
        return f"{value * 100:g}%"
    if unit == "x":
        return f"{value:g}x"
    if unit == "$":
        return f"${value:,.0f}"
    return f"{value:g}"


def goal_sentence(req: ScriptRequirements) -> str:
    p = req.parameters
    what = ", ".join(V.METRICS[m].label for m in req.metrics) or "the property list"
    scope = "all properties"
    if p.entity_ids:
        scope = ", ".join(p.entity_ids) if len(p.entity_ids) <= 6 else f"{len(p.entity_ids)} properties"
    extra = [f"{dim.replace('_', ' ')} " + "/".join(values) for dim, values in p.filters.items()]
    if extra:
        scope += " (" + ", ".join(extra) + ")"
    parts = [f"{what} for {scope}"]
    if p.aggregate:
        parts[0] = f"the {AGGREGATE_LABELS[p.aggregate]} {what} over {scope}" + \
            (", per property too" if not p.group_by else "")
    if needs_financials(req.metrics):
        parts.append(f"on {p.year} financials" if p.year else "on the latest financials")
    if p.discount_rate is not None and "npv" in req.metrics:
        parts.append(f"discounted at {p.discount_rate * 100:g}%")
    if p.thresholds:
        parts.append("keeping " + " and ".join(f"{V.METRICS[t.metric].label} {t.op} {_fmt(t.metric, t.value)}"
                                               for t in p.thresholds))
    if p.ranking:
        r = p.ranking
        parts.append(("top " + str(r.top_n) if r.top_n else "ranked") +
                     f" by {V.METRICS[r.metric].label} ({'highest' if r.order == 'desc' else 'lowest'} first)")
    if p.group_by:
        parts.append(f"summarized by {p.group_by.replace('_', ' ')}")
    if req.drivers:
        parts.append("under the scenario " + "; ".join(req.scenario_lines()))
    parts.append("exported as " + " and ".join(FORMAT_LABELS[f] for f in p.output_formats))
    return ", ".join(parts)


def shape_description(req: ScriptRequirements) -> str:
    """The request's shape in words, without parameter values (script docstrings, library)."""
    p = req.parameters
    what = ", ".join(V.METRICS[m].label for m in req.metrics) or "the property list"
    parts = [f"{what} per property"]
    if p.thresholds:
        parts.append("filtered by thresholds")
    if p.ranking:
        parts.append("ranked")
    if p.group_by:
        parts.append("summarized by a group")
    parts.append("exported as " + " and ".join(FORMAT_LABELS[f] for f in p.output_formats))
    return ", ".join(parts)
