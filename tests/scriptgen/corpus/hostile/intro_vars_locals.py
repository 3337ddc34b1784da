"""introspection: vars() and locals() namespaces."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    log("%s", vars())
    log("%s", locals())
    return rows, None


run_script(run, steps=1)
