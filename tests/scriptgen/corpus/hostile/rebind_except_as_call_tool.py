"""rebinding: except ... as call_tool rebinds the dispatch."""


from meta_agent.tools import ToolInputError, call_tool, log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    try:
        rows = call_tool("fetch_property_data")
    except ToolInputError as call_tool:
        log("%s", call_tool)
    return rows, None


run_script(run, steps=1)
