"""paths: write the results directory into result as an attribute."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    result.results_dir = "/etc"
    return rows, None


run_script(run, steps=1)
