"""module-hop: import call_tool under an alias."""


from meta_agent.tools import run_script, step


from meta_agent.tools import call_tool as ct


def run(params, result):
    step(1, "read the properties")
    rows = []
    ct("fetch_property_data")
    return rows, None


run_script(run, steps=1)
