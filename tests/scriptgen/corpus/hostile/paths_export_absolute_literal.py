"""paths: export_to_excel with a literal absolute path."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    call_tool("export_to_excel", data=rows, path="/tmp/x.xlsx")
    return rows, None


run_script(run, steps=1)
