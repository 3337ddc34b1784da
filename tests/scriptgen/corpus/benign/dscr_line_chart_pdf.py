"""DSCR of one property over five years, as a PDF line chart with the covenant line."""

from meta_agent.tools import call_tool, column, put, run_script, step


def run(params, result):
    step(1, "five years of one property")
    rows = call_tool("fetch_financial_data", property_ids="P-003", start_year=2020, end_year=2024)
    put(rows, "dscr", call_tool("calculate_dscr", noi=column(rows, "noi"), debt_service=column(rows, "debt_service")))
    for row in rows:
        row["year_label"] = str(row["year"])
    call_tool("export_to_pdf", data=rows, path="p003_dscr.pdf", title="P-003 DSCR 2020-2024",
              columns=["year_label", "noi", "debt_service", "dscr"],
              chart={"kind": "line", "x": "year_label", "y": "dscr", "reference_line": 1.25})
    result["outputs"].append("p003_dscr.pdf")
    return rows, None


run_script(run, steps=1)
