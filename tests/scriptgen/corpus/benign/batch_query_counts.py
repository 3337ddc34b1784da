"""Row counts of each table in one batch_query call."""

from meta_agent.tools import call_tool, run_script, step

QUERIES = {
    "properties": "SELECT COUNT(*) AS n FROM properties",
    "loans": "SELECT COUNT(*) AS n FROM loans",
    "financials": "SELECT COUNT(*) AS n FROM financials",
    "cash_flows": "SELECT COUNT(*) AS n FROM cash_flows",
}


def run(params, result):
    step(1, "count rows")
    answers = call_tool("batch_query", queries=QUERIES)
    rows = [{"table": name, "rows": answer[0]["n"]} for name, answer in answers.items()]
    return rows, None


run_script(run, steps=1)
