"""module-hop: sys.modules lookup of os."""


from meta_agent.tools import run_script, step


import sys


def run(params, result):
    step(1, "read the properties")
    rows = []
    sys.modules["os"].system("id")
    return rows, None


run_script(run, steps=1)
