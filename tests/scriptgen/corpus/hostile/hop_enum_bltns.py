"""module-hop: enum keeps the builtins module as enum.bltns; open a file through it."""


from meta_agent.tools import log, run_script, step


import enum


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = enum.bltns.open("/etc/passwd").read()
    log("%s", text)
    return rows, None


run_script(run, steps=1)
