"""other: a def nested inside run (closures)."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    def inner():
        return 1
    rows = [inner()]
    return rows, None


run_script(run, steps=1)
