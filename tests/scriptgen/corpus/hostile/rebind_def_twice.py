"""rebinding: run defined twice: the later one wins."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    return [], None


def run(params, result):
    return [], None


run_script(run, steps=1)
