"""introspection: %-formatting of a dunder attribute."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = "%r" % rows.__class__
    log(text)
    return rows, None


run_script(run, steps=1)
