"""introspection: an f-string that walks attributes."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = f"{params.gi_frame.f_back.f_globals}"
    log(text)
    return rows, None


run_script(run, steps=1)
