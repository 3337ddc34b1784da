"""Total and mean NOI by property type (aggregate_metrics), as JSON."""

from meta_agent.tools import call_tool, run_script, step, write_json


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data", year=2024)
    step(2, "group summary")
    group = params.get("group_by") or "property_type"
    summary = call_tool("aggregate_metrics", data=rows, group_by=group,
                        metrics={"noi": ["sum", "mean"], "property_id": "count"})
    write_json("noi_by_group.json", {"group_by": group, "groups": summary})
    result["outputs"].append("noi_by_group.json")
    return rows, summary


run_script(run, steps=2)
