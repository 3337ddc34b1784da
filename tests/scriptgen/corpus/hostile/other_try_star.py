"""other: except* groups."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    try:
        pass
    except* ValueError:
        pass
    return rows, None


run_script(run, steps=1)
