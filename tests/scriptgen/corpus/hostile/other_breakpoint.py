"""other: breakpoint() and input()."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    breakpoint()
    x = input()
    return rows, None


run_script(run, steps=1)
