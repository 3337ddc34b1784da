"""paths: Path.home() to read an ssh key."""


from meta_agent.tools import log, run_script, step


from pathlib import Path


def run(params, result):
    step(1, "read the properties")
    rows = []
    key = Path.home() / ".ssh" / "id_rsa"
    log("%s", key)
    return rows, None


run_script(run, steps=1)
