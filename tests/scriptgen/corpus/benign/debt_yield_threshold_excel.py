"""Loans with a debt yield under 10 %, as Excel with a summary sheet."""

from meta_agent.tools import call_tool, column, put, run_script, step

FLOOR = 0.10


def run(params, result):
    step(1, "properties and financials")
    props = {p["property_id"]: p for p in call_tool("fetch_property_data")}
    rows = call_tool("fetch_financial_data")
    loan = [props[row["property_id"]]["outstanding_balance"] for row in rows]
    ratios = call_tool("financial_ratios", noi=column(rows, "noi"), loan_amount=loan)
    put(rows, "debt_yield", ratios["debt_yield"])
    low = [row for row in rows if row["debt_yield"] is not None and row["debt_yield"] < FLOOR]
    summary = [{"floor": FLOOR, "below": len(low), "of": len(rows)}]
    call_tool("export_to_excel", data=low or rows[:1], path="debt_yield.xlsx", sheets={"Summary": summary})
    result["outputs"].append("debt_yield.xlsx")
    return low, summary


run_script(run, steps=1)
