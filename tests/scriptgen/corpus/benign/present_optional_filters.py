"""Financials with optional filters passed only when set (present)."""

from meta_agent.tools import call_tool, log, present, run_script, step


def run(params, result):
    step(1, "financials with the filters given")
    kind = params.get("property_type")
    rows = call_tool("fetch_financial_data", **present(year=params.get("year"), property_type=kind,
                                                       property_ids=params.get("missing_key")))
    log("%d rows for %s", len(rows), kind or "all types")
    return rows, None


run_script(run, steps=1)
