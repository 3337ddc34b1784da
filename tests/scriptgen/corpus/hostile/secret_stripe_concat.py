"""secrets: a live Stripe key split in two and concatenated."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    stripe = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    log("%s", stripe)
    return rows, None


run_script(run, steps=1)
