"""paths: a hard link to a file outside the results directory."""


from meta_agent.tools import run_script, step


from pathlib import Path


def run(params, result):
    step(1, "read the properties")
    rows = []
    Path("keys.csv").hardlink_to("/root/.ssh/id_rsa")
    return rows, None


run_script(run, steps=1)
