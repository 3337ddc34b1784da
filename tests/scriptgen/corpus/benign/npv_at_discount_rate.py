"""NPV of each property's cash flows at the discount rate in the parameters."""

from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    rate = params.get("discount_rate", 0.08)
    step(1, "cash flows for the ids asked")
    ids = params.get("entity_ids") or ["P-001"]
    flows = call_tool("query_database",
                      query="SELECT property_id, amount FROM cash_flows WHERE property_id IN (:a, :b, :c) "
                            "ORDER BY property_id, period",
                      params={"a": ids[0], "b": ids[-1], "c": ids[len(ids) // 2]})
    grouped = {}
    for flow in flows:
        grouped.setdefault(flow["property_id"], []).append(flow["amount"])
    step(2, "NPV")
    rows = []
    for pid, amounts in sorted(grouped.items()):
        npv = call_tool("calculate_npv", rate=rate, cashflows=amounts)
        rows.append({"property_id": pid, "npv": npv, "rate": rate})
    log("NPV at %.1f%% for %d properties", rate * 100, len(rows))
    return rows, None


run_script(run, steps=2)
