"""Office and retail properties with occupancy under 92 %, via filter_data."""

from meta_agent.tools import NoData, call_tool, log, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    step(2, "filter")
    kept = call_tool("filter_data", data=rows, conditions=[
        {"column": "property_type", "op": "in", "value": ["office", "retail"]},
        {"column": "occupancy", "op": "<", "value": 0.92},
    ], match="all")
    log("%d rows kept", len(kept))
    if not kept:
        raise NoData("no office or retail property is below 92 % occupancy")
    return kept, None


run_script(run, steps=2)
