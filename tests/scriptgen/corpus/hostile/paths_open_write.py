"""paths: open() for writing outside the results directory."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    fh = open("/etc/cron.d/job", "w")
    log("%s", fh)
    return rows, None


run_script(run, steps=1)
