"""Mixed values made numeric with number() and JSON-safe with clean()."""

from meta_agent.tools import call_tool, clean, number, run_script, step

RAW = [1, 2.5, "3", None, True, 4.0]


def run(params, result):
    step(1, "normalize")
    values = [number(value, 0.0) for value in RAW]
    dscr = call_tool("calculate_dscr", noi=[1.0, 2.0, 3.0], debt_service=[1.0, 0.0, 2.0], on_undefined="nan")
    rows = [{"i": i, "value": value} for i, value in enumerate(values)]
    rows += [{"i": 10 + i, "value": clean(value)} for i, value in enumerate(dscr)]
    return rows, {"whole": [v.is_integer() for v in values if isinstance(v, float)]}


run_script(run, steps=1)
