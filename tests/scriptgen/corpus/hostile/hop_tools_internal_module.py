"""module-hop: import an internal module of meta_agent.tools by name."""


from meta_agent.tools import log, run_script, step


from meta_agent.tools import outputs


def run(params, result):
    step(1, "read the properties")
    rows = []
    log("%s", outputs)
    return rows, None


run_script(run, steps=1)
