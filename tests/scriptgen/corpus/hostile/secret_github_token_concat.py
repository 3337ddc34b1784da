"""secrets: a GitHub token split in two."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    gh = "ghp_" + "1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ"
    log("%s", gh)
    return rows, None


run_script(run, steps=1)
