"""The last five properties by id, newest first, with slices and reversed()."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    last = list(reversed(props[-5:]))
    evens = props[::2]
    rows = [{"property_id": p["property_id"], "name": p["name"]} for p in last]
    return rows, {"every_other": [p["property_id"] for p in evens]}


run_script(run, steps=1)
