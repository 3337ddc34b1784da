"""dos: log() with a %-format width of 10**9."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    log("%1000000000d", 1)
    return rows, None


run_script(run, steps=1)
