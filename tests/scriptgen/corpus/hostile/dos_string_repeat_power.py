"""dos: 'a' * 10**9: a repeat count written as a power."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    blob = "a" * 10**9
    log("%s", len(blob))
    return rows, None


run_script(run, steps=1)
