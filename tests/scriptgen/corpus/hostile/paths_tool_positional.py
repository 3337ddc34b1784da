"""paths: export arguments passed positionally so a keyword check misses the path."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    call_tool("export_to_csv", rows, "/tmp/x.csv")
    return rows, None


run_script(run, steps=1)
