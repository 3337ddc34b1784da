"""A property-by-year matrix of NOI built with nested comprehensions."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "three years of financials")
    fin = call_tool("fetch_financial_data", start_year=2022, end_year=2024)
    years = sorted({row["year"] for row in fin})
    ids = sorted({row["property_id"] for row in fin})
    noi = {(row["property_id"], row["year"]): row["noi"] for row in fin}
    rows = [dict({"property_id": pid}, **{str(year): noi.get((pid, year)) for year in years}) for pid in ids]
    growth = {pid: [noi.get((pid, y)) for y in years] for pid in ids}
    return rows, {"years": years, "first_last": {pid: [v[0], v[-1]] for pid, v in growth.items()}}


run_script(run, steps=1)
