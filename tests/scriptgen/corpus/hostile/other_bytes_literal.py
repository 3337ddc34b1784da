"""other: a bytes literal."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    payload = b"\x7fELF"
    log("%s", payload)
    return rows, None


run_script(run, steps=1)
