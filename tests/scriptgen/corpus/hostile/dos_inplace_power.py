"""dos: n **= 1000000."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    n = 7
    n **= 1000000
    log("%s", n)
    return rows, None


run_script(run, steps=1)
