"""Data-quality checks over the financials with any() and all()."""

from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    checks = {
        "all_have_noi": all(isinstance(row.get("noi"), float) for row in rows),
        "any_negative_cash_flow": any(row["cash_flow"] < 0 for row in rows),
        "occupancy_in_range": all(0 <= row["occupancy"] <= 1 for row in rows),
    }
    for name, ok in checks.items():
        log("%s: %s", name, "ok" if ok else "check")
    return rows, checks


run_script(run, steps=1)
