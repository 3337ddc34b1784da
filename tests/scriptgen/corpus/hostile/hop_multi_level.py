"""module-hop: a multi-hop attribute chain: logging.os.path.os.system."""


from meta_agent.tools import run_script, step


import logging


def run(params, result):
    step(1, "read the properties")
    rows = []
    logging.os.path.os.system("id")
    return rows, None


run_script(run, steps=1)
