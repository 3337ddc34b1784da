"""other: a generator function (frames reachable through it)."""


from meta_agent.tools import run_script, step


def gen():
    yield 1


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = list(gen())
    return rows, None


run_script(run, steps=1)
