"""other: raise SystemExit to skip result.json."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    raise SystemExit(0)
    return rows, None


run_script(run, steps=1)
