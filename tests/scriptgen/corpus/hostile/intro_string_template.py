"""introspection: string.Template substitution."""


from meta_agent.tools import log, run_script, step


from string import Template


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = Template("$x").substitute(x=params)
    log(text)
    return rows, None


run_script(run, steps=1)
