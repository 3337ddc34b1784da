"""Portfolio totals logged with %-style lines."""

from meta_agent.tools import call_tool, column, log, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    total_noi = sum(column(rows, "noi", 0.0))
    total_cf = sum(column(rows, "cash_flow", 0.0))
    log("%d properties", len(rows))
    log("total NOI %.2f, total cash flow %.2f", total_noi, total_cf)
    log("cash flow is %5.1f%% of NOI", 100 * total_cf / total_noi)
    log("%s", "done")
    return rows, {"noi": total_noi, "cash_flow": total_cf}


run_script(run, steps=1)
