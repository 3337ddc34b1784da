"""Value appreciation since purchase, with a compound annual rate via power()."""

from meta_agent.tools import call_tool, power, run_script, step, years_between


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    rows = []
    for prop in props:
        years = max(years_between(prop["acquisition_date"], prop["valuation_date"]), 0.5)
        multiple = prop["current_value"] / prop["purchase_price"]
        cagr = power(multiple, 1 / years) - 1
        rows.append({"property_id": prop["property_id"], "multiple": round(multiple, 3), "cagr": round(cagr, 4)})
    return rows, None


run_script(run, steps=1)
