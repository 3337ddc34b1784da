"""other: a lambda called immediately."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    x = (lambda: 1)()
    log("%s", x)
    return rows, None


run_script(run, steps=1)
