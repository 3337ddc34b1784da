"""paths: a symlink from the results directory to /etc/passwd."""


from meta_agent.tools import run_script, step


from pathlib import Path


def run(params, result):
    step(1, "read the properties")
    rows = []
    Path("passwd.csv").symlink_to("/etc/passwd")
    return rows, None


run_script(run, steps=1)
