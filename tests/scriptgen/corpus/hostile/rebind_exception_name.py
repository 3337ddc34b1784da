"""rebinding: ValueError rebound to Exception so except clauses catch more."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    ValueError = Exception
    return rows, None


run_script(run, steps=1)
