"""other: += into a subscript (only plain names take +=)."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    totals = {"n": 0}
    totals["n"] += 1
    return rows, None


run_script(run, steps=1)
