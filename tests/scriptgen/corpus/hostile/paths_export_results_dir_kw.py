"""paths: export_to_csv with a results_dir keyword."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    call_tool("export_to_csv", data=rows, path="a.csv", results_dir="/etc")
    return rows, None


run_script(run, steps=1)
