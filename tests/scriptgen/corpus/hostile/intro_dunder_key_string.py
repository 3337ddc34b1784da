"""introspection: a dunder name as a dict key."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    env = params.get("__builtins__")
    log("%s", env)
    return rows, None


run_script(run, steps=1)
