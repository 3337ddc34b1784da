"""Expense ratio computed by transform_data, sorted and limited."""

from meta_agent.tools import call_tool, run_script, step

OPERATIONS = [
    {"op": "compute", "column": "expense_ratio", "expression": "operating_expenses / effective_gross_income"},
    {"op": "round", "columns": ["expense_ratio"], "decimals": 4},
    {"op": "sort", "by": "expense_ratio", "descending": True},
    {"op": "limit", "n": 10},
    {"op": "select", "columns": ["property_id", "name", "expense_ratio"]},
]


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    step(2, "transform")
    out = call_tool("transform_data", data=rows, operations=OPERATIONS)
    call_tool("export_to_csv", data=out, path="expense_ratio_top10.csv")
    result["outputs"].append("expense_ratio_top10.csv")
    return out, None


run_script(run, steps=2)
