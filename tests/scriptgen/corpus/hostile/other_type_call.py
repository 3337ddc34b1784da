"""other: type() with three arguments builds a class."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    cls = type("X", (), {})
    log("%s", cls)
    return rows, None


run_script(run, steps=1)
