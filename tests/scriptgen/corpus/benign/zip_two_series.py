"""NOI and debt service paired with zip and compared."""

from meta_agent.tools import call_tool, column, put, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    noi = column(rows, "noi", 0.0)
    debt = column(rows, "debt_service", 0.0)
    margins = [n - d for n, d in zip(noi, debt, strict=True)]
    put(rows, "margin", margins)
    thin = [row["property_id"] for row, m in zip(rows, margins, strict=True) if m < 0.2 * (row["noi"] or 1.0)]
    return rows, {"thin_margin": thin}


run_script(run, steps=1)
