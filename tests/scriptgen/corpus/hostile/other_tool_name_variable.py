"""other: call_tool with the tool name from the parameters."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = call_tool(params["tool"], data=rows)
    return rows, None


run_script(run, steps=1)
