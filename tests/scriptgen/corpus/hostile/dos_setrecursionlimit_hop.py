"""dos: sys.setrecursionlimit through logging.sys, then recurse."""


from meta_agent.tools import run_script, step


import logging


def deep(n):
    return deep(n - 1) if n else 0


def run(params, result):
    step(1, "read the properties")
    rows = []
    logging.sys.setrecursionlimit(10 ** 9)
    rows = deep(10 ** 6)
    return rows, None


run_script(run, steps=1)
