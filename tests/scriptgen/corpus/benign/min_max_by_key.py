"""The best and the worst property by cash flow, with min/max and key functions."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    best = max(rows, key=lambda row: row["cash_flow"])
    worst = min(rows, key=lambda row: row["cash_flow"])
    return [best, worst], {"best": best["property_id"], "worst": worst["property_id"]}


run_script(run, steps=1)
