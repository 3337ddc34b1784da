"""Drop columns a reader does not need, then round the numbers."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    ops = [{"op": "drop", "columns": ["vacancy_loss", "other_income", "capital_expenditures"]},
           {"op": "round", "decimals": 0}]
    out = call_tool("transform_data", data=rows, operations=ops)
    return out, None


run_script(run, steps=1)
