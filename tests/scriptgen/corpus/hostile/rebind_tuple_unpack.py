"""rebinding: tuple unpacking rebinds call_tool to log."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows, call_tool = [], log
    return rows, None


run_script(run, steps=1)
