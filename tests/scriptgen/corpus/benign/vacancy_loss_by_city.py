"""Vacancy loss by city, via aggregate_metrics with a list of functions."""

from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data")
    step(2, "by city")
    summary = call_tool("aggregate_metrics", data=rows, group_by=["city"],
                        metrics={"vacancy_loss": ["sum", "max"], "occupancy": ["mean", "min"]})
    call_tool("export_to_csv", data=summary, path="vacancy_by_city.csv")
    result["outputs"].append("vacancy_by_city.csv")
    return summary, None


run_script(run, steps=2)
