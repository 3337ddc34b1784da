"""other: underscore-prefixed names."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    _cache = {}
    log("%s", _cache)
    return rows, None


run_script(run, steps=1)
