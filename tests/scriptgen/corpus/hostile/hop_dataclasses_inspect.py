"""module-hop: dataclasses re-exports inspect; grab the current frame."""


from meta_agent.tools import log, run_script, step


import dataclasses


def run(params, result):
    step(1, "read the properties")
    rows = []
    frame = dataclasses.inspect.currentframe()
    log("%s", frame)
    return rows, None


run_script(run, steps=1)
