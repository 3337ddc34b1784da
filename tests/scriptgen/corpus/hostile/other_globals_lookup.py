"""other: globals() to fetch a name by string."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    tool = globals()["call_tool"]
    tool("fetch_property_data")
    return rows, None


run_script(run, steps=1)
