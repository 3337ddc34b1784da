"""introspection: a format template naming a dunder attribute."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    template = "{x.__class__}"
    log("%s", template)
    return rows, None


run_script(run, steps=1)
