"""Hotels or properties with negative cash flow (match any)."""

from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    kept = call_tool("filter_data", data=rows, match="any", conditions=[
        {"column": "property_type", "op": "==", "value": "hotel"},
        {"column": "cash_flow", "op": "<", "value": 0},
    ])
    log("%d hotels or loss-makers", len(kept))
    return kept, None


run_script(run, steps=1)
