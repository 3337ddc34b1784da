"""paths: shutil.copy of the portfolio database into the results (copy is also a dict method)."""


from meta_agent.tools import run_script, step


import shutil


def run(params, result):
    step(1, "read the properties")
    rows = []
    shutil.copy("/data/portfolio.db", "portfolio.csv")
    return rows, None


run_script(run, steps=1)
