"""LTV and debt yield per property, as a PDF report with a bar chart."""

from meta_agent.tools import call_tool, column, put, run_script, step


def run(params, result):
    step(1, "properties and financials")
    props = {p["property_id"]: p for p in call_tool("fetch_property_data")}
    rows = call_tool("fetch_financial_data")
    for row in rows:
        prop = props[row["property_id"]]
        row["value"] = prop["current_value"]
        row["loan"] = prop["outstanding_balance"]
    step(2, "ratios")
    ratios = call_tool("financial_ratios", noi=column(rows, "noi"), property_value=column(rows, "value"),
                       loan_amount=column(rows, "loan"))
    put(rows, "ltv", ratios["ltv"])
    put(rows, "debt_yield", ratios["debt_yield"])
    step(3, "report")
    call_tool("export_to_pdf", data=rows, path="ltv_report.pdf", title="Loan-to-value and debt yield",
              notes=["Values as of 2024-12-31.", "Source: portfolio database."],
              columns=["property_id", "name", "ltv", "debt_yield"],
              chart={"kind": "bar", "x": "property_id", "y": ["ltv"]})
    result["outputs"].append("ltv_report.pdf")
    return rows, None


run_script(run, steps=3)
