"""rebinding: key_figures reassigned inside run."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    key_figures = None
    log("%s", key_figures)
    return rows, None


def key_figures(rows, summary, params):
    return {}


run_script(run, steps=1)
