"""dos: a transform_data expression with a huge power, plus a computed power."""


from meta_agent.tools import call_tool, log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    ops = [{"op": "compute", "column": "x", "expression": "noi ** 10 ** 10"}]
    rows = call_tool("transform_data", data=rows, operations=ops)
    log("%s", len(rows) ** params.get("k"))
    return rows, None


run_script(run, steps=1)
