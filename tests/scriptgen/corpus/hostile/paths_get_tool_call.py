"""paths: get_tool(name)(...) bypasses call_tool's literal-name check."""


from meta_agent.tools import run_script, step


from meta_agent.tools import get_tool


def run(params, result):
    step(1, "read the properties")
    rows = []
    get_tool("export_to_csv")(data=rows, path="/etc/x.csv")
    return rows, None


run_script(run, steps=1)
