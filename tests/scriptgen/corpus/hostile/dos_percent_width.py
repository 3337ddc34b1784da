"""dos: a %-format width of 10**9 pads a gigabyte string."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    text = "%1000000000d" % 1
    log("%s", len(text))
    return rows, None


run_script(run, steps=1)
