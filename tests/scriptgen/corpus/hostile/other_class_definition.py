"""other: a class definition."""


from meta_agent.tools import run_script, step


class Evil:
    pass


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = [Evil()]
    return rows, None


run_script(run, steps=1)
