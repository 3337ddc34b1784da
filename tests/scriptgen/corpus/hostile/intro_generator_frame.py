"""introspection: a generator's gi_frame read directly."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    gen = (r for r in rows)
    globs = gen.gi_frame.f_back.f_globals
    log("%s", globs)
    return rows, None


run_script(run, steps=1)
