"""secrets: an AWS access key id in the source."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    key_id = "AKIAIOSFODNN7EXAMPLE"
    log("%s", key_id)
    return rows, None


run_script(run, steps=1)
