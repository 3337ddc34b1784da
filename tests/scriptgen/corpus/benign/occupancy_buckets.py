"""Properties bucketed by occupancy band."""

from meta_agent.tools import call_tool, run_script, step

BANDS = [(0.0, 0.85, "low"), (0.85, 0.93, "mid"), (0.93, 1.01, "high")]


def band(occupancy):
    for low, high, name in BANDS:
        if low <= occupancy < high:
            return name
    return "unknown"


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    counts = {}
    for row in rows:
        row["band"] = band(row["occupancy"])
        counts[row["band"]] = counts.get(row["band"], 0) + 1
    return rows, counts


run_script(run, steps=1)
