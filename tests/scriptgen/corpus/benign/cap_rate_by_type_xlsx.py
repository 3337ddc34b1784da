"""Cap rate per property with a sheet per property type, as Excel."""

from meta_agent.tools import call_tool, column, put, run_script, step


def run(params, result):
    step(1, "properties and financials")
    props = call_tool("fetch_property_data")
    fin = call_tool("fetch_financial_data")
    value = {p["property_id"]: p["current_value"] for p in props}
    rows = [dict(row, current_value=value.get(row["property_id"])) for row in fin]
    step(2, "cap rate")
    put(rows, "cap_rate", call_tool("calculate_cap_rate", noi=column(rows, "noi"),
                                    property_value=column(rows, "current_value"), on_undefined="nan"))
    sheets = {}
    for row in rows:
        sheets.setdefault(row["property_type"].title(), []).append(row)
    step(3, "write the workbook")
    call_tool("export_to_excel", data=rows, path="cap_rates.xlsx", sheet_name="All", sheets=sheets)
    result["outputs"].append("cap_rates.xlsx")
    return rows, {"types": sorted(sheets)}


run_script(run, steps=3)
