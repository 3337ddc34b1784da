"""Outstanding balance per lender, with the share of the total."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "loans per lender")
    rows = call_tool("aggregate_data", table="loans", metrics={"outstanding_balance": "sum", "loan_id": "count"},
                     group_by=["lender"])
    total = sum(row["outstanding_balance_sum"] for row in rows)
    for row in rows:
        row["share"] = round(row["outstanding_balance_sum"] / total, 4)
    rows = sorted(rows, key=lambda row: -row["share"])
    return rows, {"lenders": len(rows), "total": total}


run_script(run, steps=1)
