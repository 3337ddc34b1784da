"""other: setattr monkeypatches an API function."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    setattr(call_tool, "x", 1)
    return rows, None


run_script(run, steps=1)
