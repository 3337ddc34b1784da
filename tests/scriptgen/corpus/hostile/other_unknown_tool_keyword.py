"""other: a keyword the tool does not take."""


from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    x = call_tool("calculate_dscr", noi=1.0, debt_service=1.0, fudge=2)
    log("%s", x)
    return rows, None


run_script(run, steps=1)
