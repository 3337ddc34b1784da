"""other: eval of an expression from the parameters."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    value = eval(params.get("expr", "1"))
    log("%s", value)
    return rows, None


run_script(run, steps=1)
