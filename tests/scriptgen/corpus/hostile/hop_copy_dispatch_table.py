"""module-hop: copy.dispatch_table is copyreg's table; poison it."""


from meta_agent.tools import run_script, step


import copy


def run(params, result):
    step(1, "read the properties")
    rows = []
    copy.dispatch_table[dict] = len
    return rows, None


run_script(run, steps=1)
