"""introspection: an f-string with !r of an API function (module path leaks)."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = f"{log!r}"
    log(text)
    return rows, None


run_script(run, steps=1)
