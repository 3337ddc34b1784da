"""A run label that is a UUID, and ISO timestamps, carried in the summary."""

from meta_agent.tools import call_tool, run_script, step

RUN_LABEL = "123e4567-e89b-12d3-a456-426614174000"
WINDOW = ["2024-01-01T00:00:00+00:00", "2024-12-31T23:59:59+00:00"]


def run(params, result):
    step(1, "financials")
    rows = call_tool("fetch_financial_data", year=2024)
    summary = {"label": RUN_LABEL, "from": WINDOW[0], "to": WINDOW[1], "label_prefix": RUN_LABEL.split("-")[0]}
    return rows, summary


run_script(run, steps=1)
