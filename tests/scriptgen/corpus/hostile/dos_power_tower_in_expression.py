"""dos: a power tower inside an expression."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    total = len(rows) + 2 ** 10 ** 8
    log("%s", total)
    return rows, None


run_script(run, steps=1)
