"""dos: x ** y with both from the parameters."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    x = params.get("x", 10)
    y = params.get("y", 10)
    log("%s", x ** y)
    return rows, None


run_script(run, steps=1)
