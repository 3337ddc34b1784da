"""rebinding: the walrus operator binds call_tool to something else."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    if (call_tool := log):
        pass
    return rows, None


run_script(run, steps=1)
