"""dos: 10 ** 10 ** 10 as a module constant."""


from meta_agent.tools import log, run_script, step


BIG = 10 ** 10 ** 10


def run(params, result):
    step(1, "read the properties")
    rows = []
    log("%s", BIG)
    return rows, None


run_script(run, steps=1)
