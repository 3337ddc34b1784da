"""other: a tool that is not registered."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    call_tool("delete_all_properties")
    return rows, None


run_script(run, steps=1)
