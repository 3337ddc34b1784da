"""Interest rate statistics by loan type (figures per group)."""

from meta_agent.tools import call_tool, figures, run_script, step


def run(params, result):
    step(1, "loans")
    loans = call_tool("query_database", query="SELECT loan_type, interest_rate FROM loans")
    groups = {}
    for loan in loans:
        groups.setdefault(loan["loan_type"], []).append(loan["interest_rate"])
    rows = []
    for kind, rates in sorted(groups.items()):
        stats = figures(rates)
        rows.append({"loan_type": kind, "count": stats["count"], "mean": stats.get("mean"), "max": stats.get("max")})
    return rows, None


run_script(run, steps=1)
