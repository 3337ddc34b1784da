"""Everything about one property: its row, its loan and five years of financials."""

from meta_agent.tools import NoData, call_tool, run_script, single, step


def run(params, result):
    pid = "P-007"
    step(1, "the property")
    prop = single(call_tool("fetch_property_data", property_ids=pid))
    if prop is None:
        raise NoData(f"{pid} is not in the portfolio")
    step(2, "its financials")
    fin = call_tool("fetch_financial_data", property_ids=[pid], start_year=2020, end_year=2024)
    rows = [{"year": row["year"], "noi": row["noi"], "occupancy": row["occupancy"]} for row in fin]
    return rows, {"name": prop["name"], "city": prop["city"], "lender": prop["lender"]}


run_script(run, steps=2)
