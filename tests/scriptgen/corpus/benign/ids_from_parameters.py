"""Financials for the ids in the parameters, checked against the properties."""

from meta_agent.tools import NoData, call_tool, run_script, step


def run(params, result):
    ids = params.get("entity_ids") or []
    if not ids:
        raise NoData("no ids were given")
    step(1, "the properties asked")
    props = call_tool("fetch_property_data", property_ids=ids)
    found = {p["property_id"] for p in props}
    missing = [pid for pid in ids if pid not in found]
    if missing:
        result["notes"].append("not found: " + ", ".join(missing))
    step(2, "their financials")
    rows = call_tool("fetch_financial_data", property_ids=sorted(found))
    return rows, None


run_script(run, steps=2)
