"""rebinding: the script defines its own call_tool."""


from meta_agent.tools import call_tool, run_script, step


def call_tool(name, **kwargs):
    return []


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = call_tool("fetch_property_data")
    return rows, None


run_script(run, steps=1)
