"""introspection: rows.__class__.__mro__ to reach object."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    base = rows.__class__.__mro__[-1]
    log("%s", base)
    return rows, None


run_script(run, steps=1)
