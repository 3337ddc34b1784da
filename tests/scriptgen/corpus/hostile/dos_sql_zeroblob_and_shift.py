"""dos: a SQL zeroblob through query_database, and a shifted max_rows."""


from meta_agent.tools import call_tool, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    rows = call_tool("query_database", query="SELECT zeroblob(1000000000) AS z", max_rows=1 << 40)
    return rows, None


run_script(run, steps=1)
