"""Capital expenditures as a share of NOI, worst first."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    out = []
    for row in rows:
        noi = row.get("noi") or 0.0
        ratio = row["capital_expenditures"] / noi if noi else None
        out.append({"property_id": row["property_id"], "capex_to_noi": ratio})
    out.sort(key=lambda r: r["capex_to_noi"] if r["capex_to_noi"] is not None else -1.0, reverse=True)
    return out, None


run_script(run, steps=1)
