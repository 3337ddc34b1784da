"""paths: logging.basicConfig(**{filename: ...}) writes a log file anywhere."""


from meta_agent.tools import run_script, step


import logging


def run(params, result):
    step(1, "read the properties")
    rows = []
    logging.basicConfig(**{"filename": "/etc/profile.d/x.sh"})
    return rows, None


run_script(run, steps=1)
