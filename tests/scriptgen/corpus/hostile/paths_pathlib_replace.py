"""paths: Path.replace as a rename target (replace is also a str method)."""


from meta_agent.tools import run_script, step


from pathlib import Path


def run(params, result):
    step(1, "read the properties")
    rows = []
    Path("result.json").replace("/tmp/owned.json")
    return rows, None


run_script(run, steps=1)
