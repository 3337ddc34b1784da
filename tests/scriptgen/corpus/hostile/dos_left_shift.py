"""dos: 1 << 10**9 allocates a huge int."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    big = 1 << 1000000000
    log("%s", big)
    return rows, None


run_script(run, steps=1)
