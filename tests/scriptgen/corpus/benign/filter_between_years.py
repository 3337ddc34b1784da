"""Financial rows between 2021 and 2023 with NOI above ten million (filter_data between)."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "five years")
    rows = call_tool("fetch_financial_data", start_year=2020, end_year=2024)
    step(2, "filter")
    kept = call_tool("filter_data", data=rows, conditions=[
        {"column": "year", "op": "between", "value": [2021, 2023]},
        {"column": "noi", "op": ">", "value": 1e7},
    ])
    return kept, {"years": sorted({row["year"] for row in kept})}


run_script(run, steps=2)
