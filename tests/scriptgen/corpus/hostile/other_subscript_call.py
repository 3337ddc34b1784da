"""other: calling a subscript (a function table)."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    table = {"f": len}
    x = table["f"](rows)
    return rows, None


run_script(run, steps=1)
