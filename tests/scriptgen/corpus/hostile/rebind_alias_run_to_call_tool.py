"""rebinding: run_tool = call_tool: the dispatch renamed."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    run_tool = call_tool
    rows = run_tool("fetch_property_data")
    return rows, None


run_script(run, steps=1)
