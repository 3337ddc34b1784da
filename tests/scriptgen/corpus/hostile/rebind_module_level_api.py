"""rebinding: a module-level assignment to call_tool after the import."""


from meta_agent.tools import call_tool, log, run_script, step


call_tool = log


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = call_tool("fetch_property_data")
    return rows, None


run_script(run, steps=1)
