"""rebinding: a lambda parameter named step shadows the API."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    key = lambda step: step
    rows = sorted(rows, key=key)
    return rows, None


run_script(run, steps=1)
