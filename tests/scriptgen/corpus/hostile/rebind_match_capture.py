"""rebinding: a match capture pattern binds call_tool to the parameters."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    match params:
        case call_tool:
            log("%s", call_tool)
    return rows, None


run_script(run, steps=1)
