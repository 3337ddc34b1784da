"""dos: [0] * 100_000_000."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    zeros = [0] * 100000000
    log("%s", len(zeros))
    return rows, None


run_script(run, steps=1)
