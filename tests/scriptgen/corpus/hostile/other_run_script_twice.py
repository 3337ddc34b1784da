"""other: run_script called twice."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    return [], None


run_script(run, steps=1)
run_script(run, steps=1)
