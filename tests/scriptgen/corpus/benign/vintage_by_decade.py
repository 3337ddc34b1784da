"""Properties by the decade they were built in."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    decades = {}
    for prop in props:
        decade = prop["year_built"] // 10 * 10
        decades.setdefault(f"{decade}s", []).append(prop["property_id"])
    rows = [{"decade": d, "count": len(ids), "ids": ", ".join(ids)} for d, ids in sorted(decades.items())]
    return rows, None


run_script(run, steps=1)
