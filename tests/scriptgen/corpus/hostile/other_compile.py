"""other: compile() to a code object."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    code = compile("1 + 1", "x", "eval")
    log("%s", code)
    return rows, None


run_script(run, steps=1)
