"""A scalar DSCR with zero debt service raises CalculationError; the script records it."""

from meta_agent.tools import CalculationError, call_tool, run_script, step, warn


def run(params, result):
    step(1, "scalar DSCR for each property")
    rows = call_tool("fetch_financial_data")
    out = []
    for row in rows[:5]:
        try:
            dscr = call_tool("calculate_dscr", noi=row["noi"], debt_service=0.0)
        except CalculationError as exc:
            warn("%s: %s", row["property_id"], exc)
            dscr = None
        out.append({"property_id": row["property_id"], "dscr": dscr})
    return out, None


run_script(run, steps=1)
