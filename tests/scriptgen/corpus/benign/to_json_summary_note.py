"""A compact JSON note of the parameters used (to_json)."""

from meta_agent.tools import call_tool, run_script, step, to_json


def run(params, result):
    step(1, "properties")
    rows = call_tool("fetch_property_data")
    used = {key: params.get(key) for key in ("year", "city", "threshold") if params.get(key) is not None}
    result["notes"].append("parameters: " + to_json(used))
    return rows, {"parameters_json": to_json(used)}


run_script(run, steps=1)
