"""secrets: a random token under an innocent name."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    label = "q8Zk3vR9xLm2Tn7WpB4cYd6FhJ1sGa0E"
    log("%s", label)
    return rows, None


run_script(run, steps=1)
