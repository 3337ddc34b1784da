"""module-hop: fractions re-exports operator; build an attrgetter for frame walking."""


from meta_agent.tools import log, run_script, step


import fractions


def run(params, result):
    step(1, "read the properties")
    rows = []
    walk = fractions.operator.attrgetter("gi_frame.f_back.f_globals")
    log("%s", walk)
    return rows, None


run_script(run, steps=1)
