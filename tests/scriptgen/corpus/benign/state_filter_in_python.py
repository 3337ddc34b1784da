"""Properties in Texas and Florida, filtered with a comprehension and a set."""

from meta_agent.tools import NoData, call_tool, run_script, step

STATES = {"TX", "FL"}


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    rows = [p for p in props if p["state"] in STATES]
    if not rows:
        raise NoData("no property in " + ", ".join(sorted(STATES)))
    return rows, {"states": sorted({p["state"] for p in rows})}


run_script(run, steps=1)
