"""rebinding: a match capture pattern named open, then called."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    match "/etc/passwd":
        case open:
            log("%s", open)
    return rows, None


run_script(run, steps=1)
