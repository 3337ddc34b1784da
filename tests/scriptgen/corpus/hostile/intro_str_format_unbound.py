"""introspection: str.format called unbound on the str type."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = str.format("{0.f_back}", params)
    log(text)
    return rows, None


run_script(run, steps=1)
