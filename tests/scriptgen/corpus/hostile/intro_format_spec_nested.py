"""introspection: a nested format spec that holds a dunder."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = f"{params:{'{0.__class__}'}}"
    log(text)
    return rows, None


run_script(run, steps=1)
