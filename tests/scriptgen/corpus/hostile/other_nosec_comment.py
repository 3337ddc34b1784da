"""other: a nosec comment over an eval."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    value = eval("1")  # nosec
    log("%s", value)
    return rows, None


run_script(run, steps=1)
