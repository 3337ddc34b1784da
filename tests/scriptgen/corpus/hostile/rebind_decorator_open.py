"""rebinding: @open as a decorator opens the function as a path."""


from meta_agent.tools import run_script, step


@open
def helper():
    return 1


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = []
    return rows, None


run_script(run, steps=1)
