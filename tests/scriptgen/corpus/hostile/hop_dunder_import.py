"""module-hop: the builtin import function by its dunder name."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    mod = __import__("o" + "s")
    mod.system("id")
    return rows, None


run_script(run, steps=1)
