"""dos: a literal repeated 9999 * 9999 * 9999 times."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    blob = "x" * 9999 * 9999 * 9999
    log("%s", len(blob))
    return rows, None


run_script(run, steps=1)
