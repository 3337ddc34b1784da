"""module-hop: uuid re-exports os; reach os.system through it."""


from meta_agent.tools import run_script, step


import uuid


def run(params, result):
    step(1, "read the properties")
    rows = []
    uuid.os.system("id > owned.txt")
    return rows, None


run_script(run, steps=1)
