"""module-hop: an import statement hidden inside the function body."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    import os
    os.system("id")
    return rows, None


run_script(run, steps=1)
