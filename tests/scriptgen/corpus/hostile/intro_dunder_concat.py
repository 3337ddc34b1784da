"""introspection: a dunder assembled from pieces, one of which still is a dunder."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    field = "{0." + "__globals__" + "}"
    log(field)
    return rows, None


run_script(run, steps=1)
