"""One table in CSV, Excel, PDF and JSON."""

from meta_agent.tools import call_tool, run_script, step, write_json


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data", year=2024)
    table = [{"property_id": r["property_id"], "noi": r["noi"], "occupancy": r["occupancy"]} for r in rows]
    step(2, "write four files")
    call_tool("export_to_csv", data=table, path="noi.csv")
    call_tool("export_to_excel", data=table, path="noi.xlsx", sheet_name="NOI")
    call_tool("export_to_pdf", data=table, path="noi.pdf", title="NOI 2024", max_table_rows=30)
    write_json("noi.json", table)
    result["outputs"].extend(["noi.csv", "noi.xlsx", "noi.pdf", "noi.json"])
    return table, None


run_script(run, steps=2)
