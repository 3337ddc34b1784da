"""module-hop: a star import from a stdlib module."""


from meta_agent.tools import run_script, step


from os import *


def run(params, result):
    step(1, "read the properties")
    rows = []
    system("id")
    return rows, None


run_script(run, steps=1)
