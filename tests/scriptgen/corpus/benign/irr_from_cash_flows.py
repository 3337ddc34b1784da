"""IRR per property from its cash-flow series (query_database + calculate_irr)."""

from meta_agent.tools import call_tool, clean, run_script, step

QUERY = "SELECT property_id, period, amount FROM cash_flows ORDER BY property_id, period"


def series_by_property(flows):
    out = {}
    for flow in flows:
        out.setdefault(flow["property_id"], []).append(flow["amount"])
    return out


def run(params, result):
    step(1, "cash flows")
    flows = call_tool("query_database", query=QUERY, max_rows=5000)
    series = series_by_property(flows)
    ids = sorted(series)
    step(2, "IRR")
    irr = call_tool("calculate_irr", cashflows=[series[pid] for pid in ids], on_undefined="nan")
    rows = [{"property_id": pid, "periods": len(series[pid]), "irr": clean(value)} for pid, value in zip(ids, irr, strict=True)]
    return rows, None


run_script(run, steps=2)
