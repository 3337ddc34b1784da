"""Cities with both office and retail properties (set operations)."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    office = {p["city"] for p in props if p["property_type"] == "office"}
    retail = {p["city"] for p in props if p["property_type"] == "retail"}
    both = office.intersection(retail)
    either = office.union(retail)
    only_office = office.difference(retail)
    rows = [{"city": city, "both": city in both, "office_only": city in only_office} for city in sorted(either)]
    return rows, {"both": sorted(both)}


run_script(run, steps=1)
