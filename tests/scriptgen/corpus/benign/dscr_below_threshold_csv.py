"""Properties whose DSCR is below the covenant threshold, as CSV."""

from meta_agent.tools import call_tool, column, figures, log, put, run_script, step

THRESHOLD = 1.25


def run(params, result):
    step(1, "read this year's financials")
    rows = call_tool("fetch_financial_data", year=params.get("year", 2024))
    step(2, "DSCR per property")
    put(rows, "dscr", call_tool("calculate_dscr", noi=column(rows, "noi"),
                                debt_service=column(rows, "debt_service", 0.0), on_undefined="nan"))
    limit = params.get("threshold", THRESHOLD)
    low = [row for row in rows if row.get("dscr") is not None and row["dscr"] < limit]
    log("%d of %d properties below %.2f", len(low), len(rows), limit)
    step(3, "export")
    call_tool("export_to_csv", data=low, path="dscr_breaches.csv",
              columns=["property_id", "name", "noi", "debt_service", "dscr"])
    result["outputs"].append("dscr_breaches.csv")
    return low, None


def key_figures(rows, summary, params):
    return {"breaches": len(rows), "dscr": figures(column(rows, "dscr"))}


run_script(run, key_figures, steps=3)
