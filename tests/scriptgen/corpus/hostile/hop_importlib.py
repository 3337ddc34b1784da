"""module-hop: importlib.import_module with a computed module name."""


from meta_agent.tools import run_script, step


import importlib


def run(params, result):
    step(1, "read the properties")
    rows = []
    mod = importlib.import_module("o" + "s")
    mod.system("id")
    return rows, None


run_script(run, steps=1)
