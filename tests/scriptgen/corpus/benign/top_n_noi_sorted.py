"""The top N properties by NOI, sorted with a lambda key."""

from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    top = params.get("top_n", 5)
    ranked = sorted(rows, key=lambda row: row.get("noi") or 0.0, reverse=True)[:top]
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
        log("#%d %s %.0f", rank, row["property_id"], row["noi"])
    return ranked, None


def key_figures(rows, summary, params):
    return {"top": [row["property_id"] for row in rows]}


run_script(run, key_figures, steps=1)
