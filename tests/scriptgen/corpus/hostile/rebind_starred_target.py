"""rebinding: a starred assignment target named step."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    first, *step = [1, 2, 3]
    return rows, None


run_script(run, steps=1)
