"""module-hop: a relative import of a sibling module."""


from meta_agent.tools import log, run_script, step


from . import runtime


def run(params, result):
    step(1, "read the properties")
    rows = []
    log("%s", runtime)
    return rows, None


run_script(run, steps=1)
