"""introspection: logging.Formatter with style='{' formats attribute paths."""


from meta_agent.tools import log, run_script, step


import logging


def run(params, result):
    step(1, "read the properties")
    rows = []
    fmt = logging.Formatter("{msg.__init__.__globals__}", style="{")
    log("%s", fmt)
    return rows, None


run_script(run, steps=1)
