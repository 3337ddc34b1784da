"""paths: export_to_csv with a literal traversal path."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    call_tool("export_to_csv", data=rows, path="../../etc/x.csv")
    return rows, None


run_script(run, steps=1)
