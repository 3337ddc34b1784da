"""HTTP header names and API versions as labels in the summary (no requests are made)."""

from meta_agent.tools import call_tool, log, run_script, step

HEADERS = ["X-GitHub-Api-Version", "X-Request-Id", "Content-Type", "X-Correlation-Id"]
API_VERSION = "2022-11-28"


def run(params, result):
    step(1, "properties")
    rows = call_tool("fetch_property_data")
    summary = {"headers_documented": HEADERS, "api_version": API_VERSION,
               "request_id_header": HEADERS[1].lower()}
    log("documented %s", ", ".join(HEADERS))
    return rows, summary


run_script(run, steps=1)
