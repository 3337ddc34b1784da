"""other: no run_script call at the end."""


from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    return [], None
