"""other: an API function used without importing it."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    x = power(2, 3)
    log("%s", x)
    return rows, None


run_script(run, steps=1)
