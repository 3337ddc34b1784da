"""module-hop: the globals of an API function (its module, and os in it)."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    env = log.__globals__["os"].environ
    log("%s", env)
    return rows, None


run_script(run, steps=1)
