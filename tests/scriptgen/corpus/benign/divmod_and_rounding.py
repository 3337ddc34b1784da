"""Holding periods in whole years and months, with divmod."""

from meta_agent.tools import call_tool, run_script, step, years_between


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    rows = []
    for prop in props:
        months = int(round(years_between(prop["acquisition_date"], prop["valuation_date"]) * 12))
        years, rest = divmod(months, 12)
        rows.append({"property_id": prop["property_id"], "held": f"{years}y {rest}m"})
    return rows, None


run_script(run, steps=1)
