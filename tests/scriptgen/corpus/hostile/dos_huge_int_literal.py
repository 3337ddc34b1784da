"""dos: an integer literal far above 10**18."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    n = 123456789012345678901234567890123456789
    log("%s", n)
    return rows, None


run_script(run, steps=1)
