"""Money and ratio labels built with f-string format specs."""

from meta_agent.tools import call_tool, run_script, step


def label(row):
    return f"{row['property_id']}: NOI ${row['noi']:,.0f}, occupancy {row['occupancy']:.1%}"


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    for row in rows:
        row["label"] = label(row)
        row["short"] = f"{row['name'][:12]:<12}|"
    return rows, None


run_script(run, steps=1)
