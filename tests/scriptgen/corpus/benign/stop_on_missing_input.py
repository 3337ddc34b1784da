"""A required parameter that is missing stops the run with a reason (status failed is not wanted here,
so the script falls back to a default and says so)."""

from meta_agent.tools import Stop, call_tool, column, put, run_script, step


def run(params, result):
    step(1, "read the threshold")
    threshold = params.get("dscr_floor")
    if threshold is None:
        threshold = 1.2
        result["notes"].append("no dscr_floor given; used 1.20")
    if not isinstance(threshold, int | float):
        raise Stop("dscr_floor must be a number")
    rows = call_tool("fetch_financial_data")
    dscr = call_tool("calculate_dscr", noi=column(rows, "noi"), debt_service=column(rows, "debt_service"))
    put(rows, "dscr", dscr)
    return [row for row in rows if row["dscr"] is not None and row["dscr"] < threshold], None


run_script(run, steps=1)
