"""Long identifiers, version strings and base64-looking ids as plain labels."""

from meta_agent.tools import call_tool, run_script, step

REPORT_IDENTIFIER = "debt_service_coverage_ratio_by_property_type_and_city_for_fiscal_year"
TOOL_VERSION = "v1.2.3-rc.1+build.20240101"
SCHEMA_VERSION = "2024.06.0"
EXPORT_ID = "MlAyMDI0LVExLXJlcG9ydA"
PADDED_ID = "dGhpcyBpcyBhIHRlc3Q="


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    for row in rows:
        row["report"] = REPORT_IDENTIFIER
    return rows, {"tool_version": TOOL_VERSION, "schema": SCHEMA_VERSION, "export_id": EXPORT_ID,
                  "padded": PADDED_ID}


run_script(run, steps=1)
