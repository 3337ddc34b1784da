"""Properties in a city that is not in the portfolio: an empty answer, not an error."""

from meta_agent.tools import NoData, call_tool, run_script, step


def run(params, result):
    step(1, "properties in the city")
    city = "Atlantis"
    rows = call_tool("fetch_property_data", city=city)
    if not rows:
        raise NoData(f"no property in {city}")
    return rows, None


run_script(run, steps=1)
