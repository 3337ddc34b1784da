"""rebinding: a comprehension target named call_tool."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    names = [call_tool for call_tool in ["a", "b"]]
    return rows, None


run_script(run, steps=1)
