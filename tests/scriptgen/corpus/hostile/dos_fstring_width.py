"""dos: an f-string format spec with a 10**9 width."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = f"{1:>1000000000}"
    log("%s", len(text))
    return rows, None


run_script(run, steps=1)
