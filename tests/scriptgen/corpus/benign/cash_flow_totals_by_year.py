"""Portfolio cash flow per year from the cash_flows table, operating and capital apart."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "cash flows by year")
    rows = call_tool("aggregate_data", table="cash_flows", metrics={"operating": "sum", "capital": "sum"},
                     group_by=["year"])
    running = 0.0
    for row in rows:
        running = running + row["operating_sum"] + row["capital_sum"]
        row["cumulative"] = round(running, 2)
    return rows, None


run_script(run, steps=1)
