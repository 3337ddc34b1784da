"""paths: RESULTS_DIR / f-string with a traversal segment."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    target = RESULTS_DIR / f"../{params.get('name')}"
    open(target, "w")
    return rows, None


run_script(run, steps=1)
