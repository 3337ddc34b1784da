"""A bad property id is reported in the notes; the script goes on with the good ones."""

from meta_agent.tools import Stop, ToolInputError, call_tool, run_script, step

IDS = ["P-001", "P-002", "P-999"]


def run(params, result):
    step(1, "fetch each id on its own")
    rows = []
    for pid in IDS:
        try:
            found = call_tool("fetch_property_data", property_ids=pid)
        except ToolInputError as exc:
            result["notes"].append(f"{pid}: {exc}")
            continue
        rows.extend(found)
    if not rows:
        raise Stop("none of the ids exists")
    return rows, None


run_script(run, steps=1)
