"""Rows trimmed and extended with dict methods (update, pop, keys)."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    rows = []
    for prop in props:
        row = prop.copy()
        row.pop("loan_id", None)
        row.pop("lender", None)
        row.update({"value_per_sqft": round(row["current_value"] / row["square_feet"], 2)})
        rows.append(row)
    return rows, {"columns": sorted(rows[0].keys()) if rows else []}


run_script(run, steps=1)
