"""The second layer on its own: hostile code run directly under the runtime guard
(``meta_agent.tools.guard.run_source``) WITHOUT the validator is refused at run time — by the
guard (RestrictedPython with the language's lists), by the tool that is called, or by the
bounded runtime API. The last group is what no static rule can catch: values that only exist
at run time (a ``**dict`` splat, a computed path, a tool's expression or SQL text).

Each test is named after what it stops. Network egress is the sandbox's: see
tests/sandbox/test_sandbox_containment.py::test_network_connect_fails.
"""

from __future__ import annotations

import json

import pytest
from RestrictedPython import compile_restricted

from meta_agent.scriptgen.validator import validate_script
from meta_agent.tools import CalculationError, ToolInputError, ToolPathError, guard

IMPORT = ("from meta_agent.tools import CalculationError, NoData, Stop, ToolInputError, call_tool, log, "
          "power, run_script, step, write_json\n")


@pytest.fixture
def results(results, data_url):
    """The results directory (tests/conftest.py), with the seeded portfolio for tool calls under the guard."""
    return results


def guarded(code: str) -> None:
    """Run ``code`` (after the tools import) under the guard, letting its exception out."""
    guard.run_source(IMPORT + code, "hostile.py")


def statically_valid(code: str) -> bool:
    body = "".join(f"    {line}\n" for line in code.splitlines())
    return validate_script(f'"""x."""\n\n{IMPORT}\n\ndef run(params, result):\n    rows = []\n{body}'
                           "    return rows, None\n\n\nrun_script(run)\n").valid


# ------------------------------------------------------------- the guard itself

@pytest.mark.parametrize("code", ["import os", "import uuid\nuuid.os.system('id')", "from os import system",
                                  "from meta_agent.tools import get_tool", "from meta_agent.tools.runtime import os",
                                  "from meta_agent.tools import outputs"])
def test_imports_other_than_the_tools_api_are_refused(code):
    with pytest.raises(guard.GuardError, match="does not allow"):
        guarded(code)


def test_the_api_import_gives_names_never_the_module():
    namespace = guard.guarded_import("meta_agent.tools", fromlist=("call_tool",))
    assert not hasattr(namespace, "outputs") and not hasattr(namespace, "get_tool") and callable(namespace.call_tool)


@pytest.mark.parametrize("code", ["getattr(log, 'x')", "open('/etc/passwd')", "print('x')", "type(log)",
                                  "globals()", "vars()", "setattr(log, 'x', 1)", "input()"])
def test_builtins_off_the_list_are_not_there(code):
    with pytest.raises(NameError):
        guarded(code)


@pytest.mark.parametrize("code", ["eval('1')", "exec('x = 1')", "x = log.__globals__", "x = __import__('os')",
                                  "_cache = {}"])
def test_eval_exec_and_underscore_names_are_refused_when_compiled(code):
    with pytest.raises(guard.GuardError, match="refused the script"):
        guarded(code)
    with pytest.raises(SyntaxError):  # RestrictedPython's own refusal, before anything runs
        compile_restricted(code, "x.py", "exec")


@pytest.mark.parametrize("attr", ["gi_frame", "gi_code", "f_back", "f_globals"])
def test_a_generator_frame_is_not_reachable(attr):
    with pytest.raises(guard.GuardError, match=attr):  # refused when compiled (RestrictedPython's own list)
        guarded(f"gen = (x for x in [1])\nframe = gen.{attr}")


def test_a_frame_like_attribute_off_every_list_is_refused_when_read():
    with pytest.raises(guard.GuardError, match=r"\.send on a generator value"):
        guarded("gen = (x for x in [1])\nsend = gen.send")


@pytest.mark.parametrize("code", ["'{0.gi_frame}'.format(1)", "'{x}'.format_map({'x': 1})", "f = 'a'.format"])
def test_str_format_is_refused(code):
    with pytest.raises(guard.GuardError, match=r"\.format"):
        guarded(code)


@pytest.mark.parametrize(("code", "kind"), [("range(3).copy()", "range"), ("(x for x in []).copy()", "generator"),
                                             ("log.copy()", "function"), ("x = (1).real", "int")])
def test_methods_are_checked_against_the_value_type(code, kind):
    with pytest.raises(guard.GuardError, match=f"on a {kind} value"):
        guarded(code)


def test_a_dict_method_still_works_on_a_dict_and_a_list_method_on_a_tool_result(results):
    guarded("d = {'a': 1}.copy()\nrows = call_tool('fetch_property_data')\nrows.sort(key=lambda r: r['city'])")


def test_subscripting_a_function_is_refused():
    with pytest.raises(guard.GuardError, match="subscripting a function"):
        guarded("x = log[0]")


@pytest.mark.parametrize(("code", "kind"), [("t = (1, 2)\nt[0] = 3", "tuple"), ("s = 'ab'\ns[0] = 'c'", "str")])
def test_item_assignment_into_a_tuple_or_str_is_refused(code, kind):
    with pytest.raises(guard.GuardError, match=f"not into a {kind}"):
        guarded(code)


def test_an_inplace_power_with_a_huge_exponent_is_refused():
    with pytest.raises(guard.GuardError, match="use power"):
        guarded("n = 7\ne = 10 ** 6\nn **= e")


def test_a_computed_power_through_power_is_bounded():
    with pytest.raises(CalculationError, match="larger than 10,000"):
        guarded("x = power(10, 10 ** 10)")
    with pytest.raises(CalculationError, match="too large"):
        guarded("x = power(10, 400)")


# ------------------------------------------------- what only the run time can see

def test_a_results_dir_splat_into_an_export_is_refused_by_the_tool(results):
    code = 'call_tool("export_to_csv", data=[{"a": 1}], path="a.csv", **{"results_dir": "/etc"})'
    assert statically_valid(code)  # a **dict splat: the validator cannot see its keys
    with pytest.raises(ToolInputError, match="results_dir"):
        guarded(code)


def test_a_traversal_path_splat_into_an_export_is_refused_by_the_tool(results):
    code = 'call_tool("export_to_csv", data=[{"a": 1}], **{"path": "../x.csv"})'
    assert statically_valid(code)
    with pytest.raises(ToolPathError, match="bare file name"):
        guarded(code)
    assert not (results.parent / "x.csv").exists()


@pytest.mark.parametrize("name", ["../../etc/cron.d/x", "/tmp/x", "sub/x", ".hidden"])
def test_a_computed_path_name_is_refused_by_the_tool(results, name):
    code = f'stem = "{name}"\ncall_tool("export_to_csv", data=[{{"a": 1}}], path=stem + ".csv")'
    assert statically_valid(code)
    with pytest.raises(ToolPathError):
        guarded(code)
    assert [p.name for p in results.iterdir()] == []


def test_a_computed_json_name_is_refused_by_write_json(results):
    code = 'where = "../" + "escape"\nwrite_json(where + ".json", {"a": 1})'
    assert statically_valid(code)
    with pytest.raises(ToolPathError):
        guarded(code)


def test_a_huge_power_in_a_transform_expression_is_refused_by_the_tool(results):
    code = ('ops = [{"op": "compute", "column": "x", "expression": "a ** " + "10 ** 10"}]\n'
            'rows = call_tool("transform_data", data=[{"a": 2}], operations=ops)')
    assert statically_valid(code)
    with pytest.raises(ToolInputError, match="exponent"):
        guarded(code)


@pytest.mark.parametrize("sql", ["SELECT zeroblob(1000000000) AS z", "SELECT printf('%.*c', 1000000000, 'x') AS s",
                                 "SELECT length(randomblob(1000000000)) AS n"])
def test_a_value_growing_sql_function_is_refused_by_query_database(results, sql):
    code = f'rows = call_tool("query_database", query="{sql}")'
    assert statically_valid(code)
    with pytest.raises(ToolInputError, match="not on the allowed list"):
        guarded(code)


def test_a_runtime_built_tool_name_must_still_be_registered(results):
    guarded('call_tool("export_" + "to_csv", data=[{"a": 1}], path="ok.csv")')  # a real tool: fine
    assert (results / "ok.csv").exists()
    assert not statically_valid('call_tool(params["tool"], data=rows)')  # rejected statically (tool-name)
    with pytest.raises(KeyError):
        guarded('name = "delete_" + "everything"\ncall_tool(name, data=[])')


def test_a_runtime_assembled_secret_is_an_inert_string():
    """The scanner cannot see a key assembled at run time; under the guard it is only a str:
    no module, socket or file can carry it anywhere (egress is the container's job, see
    tests/sandbox/test_sandbox_containment.py::test_network_connect_fails)."""
    code = ('parts = ["evil", "_ks"]\nprefix = "".join(reversed([p[::-1] for p in parts]))\n'
            'key = prefix + "_" + str(4 * 10 ** 17 + 39) + "HqLyjWDarjtT"\nsent = key.upper()')
    assert statically_valid(code)
    namespace = guard.script_globals()
    exec(guard.compile_script(IMPORT + code), namespace)  # noqa: S102 — compiled by the guard, its globals
    assert type(namespace["key"]) is str and namespace["key"].startswith("sk_live_")
    for way_out in ("socket", "urllib", "http", "open", "os"):
        assert way_out not in namespace and way_out not in namespace["__builtins__"]


# ------------------------------------------------------------- a whole script

def test_a_guard_refusal_inside_run_script_lands_in_result_json(results, tmp_path, monkeypatch):
    params = tmp_path / "params.json"
    params.write_text("{}", encoding="utf-8")
    monkeypatch.setenv("META_AGENT_PARAMS", str(params))
    source = (f'"""x."""\n\n{IMPORT}\n\ndef run(params, result):\n    gen = (r for r in [1])\n'
              "    text = '{0}'.format(gen)\n    return [], None\n\n\nrun_script(run)\n")
    with pytest.raises(SystemExit) as exit_:
        guard.run_source(source)
    assert exit_.value.code == 1
    doc = json.loads((results / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "failed" and doc["error"].startswith("GuardError:") and ".format" in doc["error"]


def test_run_path_refuses_a_script_restricted_python_cannot_compile(results, tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("x = __import__('os')\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        guard.run_path(str(script))
    assert exit_.value.code == 1
    doc = json.loads((results / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "failed" and "refused" in doc["error"]
