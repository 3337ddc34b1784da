"""paths: os.rename moves result.json outside the results directory."""


from meta_agent.tools import run_script, step


import os


def run(params, result):
    step(1, "read the properties")
    rows = []
    os.rename("result.json", "/etc/cron.d/job")
    return rows, None


run_script(run, steps=1)
