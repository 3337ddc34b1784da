"""introspection: %-formatting of an attribute read."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = "%s" % (params.gi_frame,)
    log(text)
    return rows, None


run_script(run, steps=1)
