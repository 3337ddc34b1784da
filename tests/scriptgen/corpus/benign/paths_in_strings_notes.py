"""Notes that mention local paths: not paths the script opens, just text for the reader."""

from meta_agent.tools import call_tool, run_script, step

DESKTOP = "/home/analyst/Desktop"
WINDOWS_COPY = "C:\\Users\\analyst\\Documents\\Portfolio\\dscr.xlsx"
SHARE = "\\\\fileserver\\finance\\reports"


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    result["notes"].append(f"copy dscr.csv to {DESKTOP}/reports when reviewing")
    result["notes"].append("the Windows team keeps theirs at " + WINDOWS_COPY)
    result["notes"].append("archive: " + SHARE)
    call_tool("export_to_csv", data=rows, path="dscr.csv")
    result["outputs"].append("dscr.csv")
    return rows, None


run_script(run, steps=1)
