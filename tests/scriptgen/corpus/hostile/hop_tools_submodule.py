"""module-hop: os through the runtime module of meta_agent.tools."""


from meta_agent.tools import run_script, step


from meta_agent.tools.runtime import os


def run(params, result):
    step(1, "read the properties")
    rows = []
    os.system("id")
    return rows, None


run_script(run, steps=1)
