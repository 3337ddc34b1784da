"""other: getattr with a computed attribute name."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    g = getattr(log, "gi_" + "frame")
    log("%s", g)
    return rows, None


run_script(run, steps=1)
