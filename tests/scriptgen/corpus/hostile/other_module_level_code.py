"""other: module-level tool call and loop outside the structure."""


from meta_agent.tools import call_tool, run_script, step


ROWS = call_tool("fetch_property_data")
for row in [1]:
    pass


def run(params, result):
    step(1, "read the properties")
    rows = []
    return [], None


run_script(run, steps=1)
