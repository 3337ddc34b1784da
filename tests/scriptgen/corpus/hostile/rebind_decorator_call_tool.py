"""rebinding: a decorator runs call_tool on a function object."""


from meta_agent.tools import call_tool, run_script, step


@call_tool
def helper():
    return 1


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = helper
    return rows, None


run_script(run, steps=1)
