"""rebinding: str reassigned to a lambda."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    str = lambda x: x
    log("%s", str(1))
    return rows, None


run_script(run, steps=1)
