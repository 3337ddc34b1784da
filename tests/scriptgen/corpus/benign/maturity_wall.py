"""Loans maturing per year (the maturity wall), from the loans table."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "loans")
    loans = call_tool("query_database", query="SELECT loan_id, maturity_date, outstanding_balance FROM loans")
    wall = {}
    for loan in loans:
        year = int(loan["maturity_date"][:4])
        wall[year] = wall.get(year, 0.0) + loan["outstanding_balance"]
    rows = [{"year": year, "balance": round(balance, 2)} for year, balance in sorted(wall.items())]
    call_tool("export_to_csv", data=rows, path="maturity_wall.csv")
    result["outputs"].append("maturity_wall.csv")
    return rows, None


run_script(run, steps=1)
