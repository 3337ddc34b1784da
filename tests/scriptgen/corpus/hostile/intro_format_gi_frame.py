"""introspection: str.format walks gen.gi_frame.f_back.f_locals."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    gen = (r for r in rows)
    text = "{0.gi_frame.f_back.f_locals}".format(gen)
    log("%s", text)
    return rows, None


run_script(run, steps=1)
