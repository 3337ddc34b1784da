"""rebinding: a helper whose parameter is the builtin len."""


from meta_agent.tools import run_script, step


def helper(rows, len):
    return rows[:len]


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = helper(rows, 1)
    return rows, None


run_script(run, steps=1)
