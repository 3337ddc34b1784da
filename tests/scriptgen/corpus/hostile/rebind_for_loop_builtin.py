"""rebinding: a for loop binds the builtin len."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    for len in [0]:
        pass
    return rows, None


run_script(run, steps=1)
