"""other: exec of a string."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    exec("import os; os.system('id')")
    return rows, None


run_script(run, steps=1)
