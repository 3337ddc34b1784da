"""rebinding: len += 1 rebinds a builtin."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    len += 1
    return rows, None


run_script(run, steps=1)
