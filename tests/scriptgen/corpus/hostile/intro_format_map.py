"""introspection: str.format_map with an attribute walk."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = "{p.gi_frame}".format_map({"p": params})
    log("%s", text)
    return rows, None


run_script(run, steps=1)
