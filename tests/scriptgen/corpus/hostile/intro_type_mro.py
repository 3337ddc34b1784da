"""introspection: type(x).mro()."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    bases = type(rows).mro()
    log("%s", bases)
    return rows, None


run_script(run, steps=1)
