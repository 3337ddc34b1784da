"""rebinding: **log as a parameter name."""


from meta_agent.tools import run_script, step


def helper(**log):
    return [log]


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = helper(a=1)
    return rows, None


run_script(run, steps=1)
