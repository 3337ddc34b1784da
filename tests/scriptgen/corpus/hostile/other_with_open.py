"""other: a with block opening a file."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    with open("/etc/passwd") as fh:
        rows = [fh]
    return rows, None


run_script(run, steps=1)
