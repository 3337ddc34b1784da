"""Total NOI by city and year from the financials table (aggregate_data)."""

from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    step(1, "aggregate in the database")
    rows = call_tool("aggregate_data", table="financials", metrics={"noi": ["sum", "avg"], "cash_flow": "sum"},
                     group_by=["city", "year"])
    cities = {row["city"] for row in rows}
    log("%d cities, %d groups", len(cities), len(rows))
    return rows, {"cities": sorted(cities)}


run_script(run, steps=1)
