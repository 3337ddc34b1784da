"""rebinding: t = call_tool; t(...) with an export."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    t = call_tool
    t("export_to_csv", data=rows, path="x.csv")
    return rows, None


run_script(run, steps=1)
