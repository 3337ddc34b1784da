"""secrets: a password assigned to a telling name."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    password = "hunter2hunter2"
    log("%s", password)
    return rows, None


run_script(run, steps=1)
