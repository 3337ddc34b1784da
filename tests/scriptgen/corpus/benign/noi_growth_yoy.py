"""Year-over-year NOI growth per property."""

from meta_agent.tools import call_tool, column, figures, run_script, step


def growth(before, after):
    if not before:
        return None
    return (after - before) / before


def run(params, result):
    step(1, "two years")
    fin = call_tool("fetch_financial_data", start_year=2023, end_year=2024)
    by_year = {}
    for row in fin:
        by_year.setdefault(row["property_id"], {})[row["year"]] = row["noi"]
    rows = []
    for pid, years in sorted(by_year.items()):
        if 2023 in years and 2024 in years:
            rows.append({"property_id": pid, "growth": growth(years[2023], years[2024])})
    rows.sort(key=lambda row: row["growth"])
    return rows, None


def key_figures(rows, summary, params):
    return {"growth": figures(column(rows, "growth"))}


run_script(run, key_figures, steps=1)
