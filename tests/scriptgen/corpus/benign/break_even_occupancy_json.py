"""Break-even occupancy of the industrial properties, as JSON."""

from meta_agent.tools import NoData, call_tool, column, put, run_script, step, write_json


def run(params, result):
    step(1, "industrial financials")
    rows = call_tool("fetch_financial_data", property_type="industrial", year=2024)
    if not rows:
        raise NoData("no industrial property")
    step(2, "ratios")
    ratios = call_tool("financial_ratios", operating_expenses=column(rows, "operating_expenses"),
                       debt_service=column(rows, "debt_service"),
                       potential_gross_income=column(rows, "potential_gross_income"))
    put(rows, "break_even_occupancy", ratios["break_even_occupancy"])
    write_json("break_even.json", [{"property_id": r["property_id"], "beo": r["break_even_occupancy"]} for r in rows])
    result["outputs"].append("break_even.json")
    return rows, None


run_script(run, steps=2)
