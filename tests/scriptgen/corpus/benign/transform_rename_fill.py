"""Columns renamed and gaps filled with transform_data before an Excel export."""

from meta_agent.tools import call_tool, run_script, step

OPERATIONS = [
    {"op": "select", "columns": ["property_id", "name", "noi", "debt_service"]},
    {"op": "rename", "columns": {"noi": "net_operating_income", "debt_service": "annual_debt_service"}},
    {"op": "fill_missing", "value": 0},
    {"op": "sort", "by": ["property_id"]},
]


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    step(2, "reshape")
    out = call_tool("transform_data", data=rows, operations=OPERATIONS)
    call_tool("export_to_excel", data=out, path="renamed.xlsx")
    result["outputs"].append("renamed.xlsx")
    return out, None


run_script(run, steps=2)
