"""Average square feet per unit by property type."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    totals = {}
    for prop in props:
        sq, units = totals.get(prop["property_type"], (0, 0))
        totals[prop["property_type"]] = (sq + prop["square_feet"], units + prop["units"])
    rows = [{"property_type": kind, "sqft_per_unit": round(sq / units, 1) if units else None}
            for kind, (sq, units) in sorted(totals.items())]
    return rows, None


run_script(run, steps=1)
