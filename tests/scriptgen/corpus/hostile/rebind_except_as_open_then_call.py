"""rebinding: except ... as open, then call the rebound name as if it were the builtin."""


from meta_agent.tools import ToolInputError, call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    try:
        rows = call_tool("fetch_property_data")
    except ToolInputError as open:
        open("/etc/shadow")
    return rows, None


run_script(run, steps=1)
