"""other: no run_script call at the end."""


from meta_agent.tools import step


def run(params, result):
    step(1, "read the properties")
    rows = []
    return [], None
