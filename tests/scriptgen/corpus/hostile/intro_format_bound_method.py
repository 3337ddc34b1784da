"""introspection: str.format taken as a bound method, called later."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    fmt = "{0.gi_code}".format
    log(fmt(params))
    return rows, None


run_script(run, steps=1)
