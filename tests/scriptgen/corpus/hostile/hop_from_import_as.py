"""module-hop: from shutil import rmtree as tidy, then call the alias."""


from meta_agent.tools import run_script, step


from shutil import rmtree as tidy


def run(params, result):
    step(1, "read the properties")
    rows = []
    tidy("/results")
    return rows, None


run_script(run, steps=1)
