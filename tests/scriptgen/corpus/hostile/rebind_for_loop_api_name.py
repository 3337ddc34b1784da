"""rebinding: a for loop over rows binds the name log."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    for log in rows:
        pass
    return rows, None


run_script(run, steps=1)
