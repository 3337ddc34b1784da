"""rebinding: global rebinds a module name from inside a function."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    global call_tool
    call_tool = log
    return rows, None


run_script(run, steps=1)
