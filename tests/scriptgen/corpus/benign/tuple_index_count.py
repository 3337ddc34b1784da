"""Property types counted with tuple.count and ranked by position."""

from meta_agent.tools import call_tool, run_script, step

ORDER = ("multifamily", "office", "retail", "industrial", "hotel", "self_storage")


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    kinds = tuple(p["property_type"] for p in props)
    rows = [{"property_type": k, "position": ORDER.index(k), "count": kinds.count(k)} for k in ORDER]
    return rows, None


run_script(run, steps=1)
