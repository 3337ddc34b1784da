"""introspection: a dunder written with hex escapes."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    name = "\x5f\x5fclass\x5f\x5f"
    log(name)
    return rows, None


run_script(run, steps=1)
