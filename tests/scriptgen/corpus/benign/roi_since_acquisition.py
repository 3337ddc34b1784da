"""Annualized ROI since acquisition, with years_between and a bounded power for a check."""

from meta_agent.tools import call_tool, column, figures, power, run_script, step, years_between

VALUATION_DATE = "2024-12-31"


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    rows = []
    for prop in props:
        years = years_between(prop["acquisition_date"], VALUATION_DATE)
        roi = call_tool("calculate_roi", initial_investment=prop["purchase_price"],
                        final_value=prop["current_value"], years=years)
        grown = prop["purchase_price"] * power(1 + roi, years)
        rows.append({"property_id": prop["property_id"], "years": round(years, 2), "roi": roi,
                     "check": round(grown / prop["current_value"], 6)})
    return rows, None


def key_figures(rows, summary, params):
    return {"roi": figures(column(rows, "roi"))}


run_script(run, key_figures, steps=1)
