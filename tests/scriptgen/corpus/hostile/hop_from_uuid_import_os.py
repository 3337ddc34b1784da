"""module-hop: from uuid import os: the module hop as an import."""


from meta_agent.tools import run_script, step


from uuid import os


def run(params, result):
    step(1, "read the properties")
    rows = []
    os.system("id")
    return rows, None


run_script(run, steps=1)
