"""module-hop: import subprocess under an innocent alias."""


from meta_agent.tools import run_script, step


import subprocess as helpers


def run(params, result):
    step(1, "read the properties")
    rows = []
    helpers.run(["sh", "-c", "id"])
    return rows, None


run_script(run, steps=1)
