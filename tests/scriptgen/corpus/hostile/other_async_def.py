"""other: an async function."""


from meta_agent.tools import run_script, step


async def helper():
    return 1


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = []
    return rows, None


run_script(run, steps=1)
