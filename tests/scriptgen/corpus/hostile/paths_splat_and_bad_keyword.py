"""paths: a **splat next to a literal unknown keyword (directory=)."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    extra = {"columns": ["property_id"]}
    call_tool("export_to_csv", data=rows, path="a.csv", directory="/tmp", **extra)
    return rows, None


run_script(run, steps=1)
