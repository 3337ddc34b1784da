"""paths: os.path.join with an absolute second segment."""


from meta_agent.tools import log, run_script, step


import os.path


def run(params, result):
    step(1, "read the properties")
    rows = []
    where = os.path.join("out", "/etc/passwd")
    log("%s", where)
    return rows, None


run_script(run, steps=1)
