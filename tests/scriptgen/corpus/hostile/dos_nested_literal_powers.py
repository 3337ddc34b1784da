"""dos: powers of powers, each exponent a literal 64: 9 ** 64 ** 5 in effect."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    n = ((((9 ** 64) ** 64) ** 64) ** 64) ** 64
    log("%s", n)
    return rows, None


run_script(run, steps=1)
