"""dos: an endless loop allocating big lists."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    while True:
        rows.append([0] * 10000000)
    return rows, None


run_script(run, steps=1)
