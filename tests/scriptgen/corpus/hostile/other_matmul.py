"""other: the @ operator."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    x = rows @ rows
    return rows, None


run_script(run, steps=1)
