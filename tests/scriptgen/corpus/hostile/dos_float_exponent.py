"""dos: 2.0 ** 1e6 overflows slowly."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    x = 2.0 ** 1e6
    log("%s", x)
    return rows, None


run_script(run, steps=1)
