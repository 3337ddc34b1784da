"""The validator's rules, one small snippet each: the rule id, its line and column, a message
that names the construct and the fix from ``language.FIXES``. The corpus test
(test_script_corpus.py) runs the whole hostile and benign corpora; this file is the unit view."""

from __future__ import annotations

import pytest

from meta_agent.errors import InputError
from meta_agent.scriptgen.validator import Finding, ToolCatalog, validate_file, validate_script
from meta_agent.tools import language

HEAD = '''"""A script."""

from meta_agent.tools import Stop, ToolInputError, call_tool, log, power, run_script, step, write_json


def run(params, result):
    step(1, "read")
    rows = []
'''
TAIL = '''    return rows, None


run_script(run, steps=1)
'''
BODY_LINE = HEAD.count("\n") + 1  # the first snippet line


def script(body: str, head: str = HEAD, tail: str = TAIL) -> str:
    return head + "".join(f"    {line}\n" for line in body.splitlines()) + tail


def findings(body: str, rule: str) -> list[Finding]:
    return [f for f in validate_script(script(body)).errors if f.rule == rule]


def test_the_frame_alone_is_valid():
    report = validate_script(script("log('%d rows', len(rows))"))
    assert report.valid and report.findings == [] and report.summary() == "valid"


@pytest.mark.parametrize(("body", "rule", "needle"), [
    ("class X:\n    pass", "node-not-allowed", "class definitions"),
    ("with params as p:\n    pass", "node-not-allowed", "'with' blocks"),
    ("del rows", "node-not-allowed", "'del'"),
    ("assert rows", "node-not-allowed", "'assert'"),
    ("global rows", "node-not-allowed", "'global'"),
    ("x = (y := 1)", "node-not-allowed", "':='"),
    ("match rows:\n    case x:\n        pass", "node-not-allowed", "'match'"),
    ("d = {}\nd['a'] += 1", "node-not-allowed", "only plain names take +="),
    ("x = b'abc'", "constant-not-allowed", "bytes literals"),
    ("x = ...", "constant-not-allowed", "ellipsis literals"),
    ("import os", "import-not-allowed", "imports belong at the top"),
    ("x = open('a')", "name-not-allowed", "'open'"),
    ("x = eval('1')", "name-not-allowed", "code is never built at run time"),
    ("print(rows)", "name-not-allowed", "use log(...)"),
    ("x = type(rows)", "name-not-allowed", "types are not inspected"),
    ("x = params.gi_frame", "attribute-not-allowed", "params.gi_frame"),
    ("x = '{0}'.format(1)", "attribute-not-allowed", "format strings can read attributes"),
    ("x = 'a'.encode()", "attribute-not-allowed", ".encode(...) is not a listed method"),
    ("params.x = 1", "attribute-not-allowed", "may not be read or assigned"),
    ("x = (lambda: 1)()", "call-not-allowed", "only names and listed methods"),
    ("f = len\nx = f(rows)", "call-not-allowed", "'f' is a variable"),
    ("x = log", "alias-not-allowed", "'log' may only be called"),
    ("x = sorted(rows, key=step)", "alias-not-allowed", "'step' may only be called"),
    ("_x = 1", "underscore-name", "'_x'"),
    ("x = rows.__class__", "underscore-name", ".__class__"),
    ("x = '{0.__class__}'", "dunder-string", "'__class__'"),
    ("len = 3", "rebinding", "'len' is a builtin"),
    ("for log in rows:\n    pass", "rebinding", "'log' is a meta_agent.tools name"),
    ("run = 1", "rebinding", "'run' is a function of this script"),
    ("x = [call_tool for call_tool in rows]", "rebinding", "'call_tool'"),
    ("try:\n    pass\nexcept Stop as step:\n    pass", "rebinding", "'step'"),
    ("x = 2 ** params['n']", "exponent-bound", "the exponent is computed"),
    ("x = 10 ** 100", "exponent-bound", "exponent 100 is above 64"),
    ("n = 2\nn **= 65", "exponent-bound", "above 64"),
    ("x = [0] * 20000", "size-bound", "a literal of 20,000 items"),
    ("x = 10000000000000000000", "size-bound", "an integer literal of 20 digits"),
    ("x = 'a' * 10**9", "size-bound", "1,000,000,000 items"),
    ("x = 'x' * 9999 * 9999", "size-bound", "99,980,001 items"),
    ("x = '%1000000000d' % 1", "size-bound", "width 1,000,000,000 is above"),
    ("log('%1000000000d', 1)", "size-bound", "width 1,000,000,000 is above"),
    ("x = f'{1:>1000000000}'", "size-bound", "format spec '>1000000000'"),
    ("x = (9 ** 64) ** 64", "exponent-bound", "a power of a power"),
    ("call_tool('export_to_csv', data=rows, path='../x.csv')", "tool-args", "must be a bare file name"),
    ("write_json('/tmp/x.json', rows)", "tool-args", "bare file name"),
    ("x = call_tool('no_such_tool')", "unknown-tool", "no tool named 'no_such_tool'"),
    ("x = call_tool(params['tool'])", "tool-name", "string literal"),
    ("x = call_tool('calculate_dscr', 1.0, 2.0)", "tool-args", "pass inputs as keywords"),
    ("x = call_tool('calculate_dscr', noi=1.0, debt_service=1.0, fudge=2)", "tool-args", "no parameter 'fudge'"),
    ("x = 1  # nosec", "nosec-comment", "not honoured"),
])
def test_each_rule_names_the_construct_and_gives_the_fix(body, rule, needle):
    found = findings(body, rule)
    assert found, (rule, [(f.rule, f.message) for f in validate_script(script(body)).errors])
    assert any(needle in f.message for f in found), [f.message for f in found]
    assert all(f.fix == language.FIXES[rule] for f in found)
    body_lines = range(BODY_LINE, BODY_LINE + len(body.splitlines()))
    assert any(f.line in body_lines for f in found), ([f.line for f in found], body)


@pytest.mark.parametrize(("body", "needle"), [("x = 1 << 3", "'<<'"), ("x = 1 >> 3", "'>>'"), ("x = ~1", "'~'"),
                                             ("x = rows @ rows", "'@'")])
def test_operators_off_the_list_are_refused(body, needle):
    assert any(needle in f.message for f in findings(body, "node-not-allowed"))


@pytest.mark.parametrize("body", ["x = 1 << 3", "x = ~1", "x = rows @ rows"])
def test_operator_findings_carry_the_line_of_their_expression(body):
    found = findings(body, "node-not-allowed")
    assert found and all(f.line == BODY_LINE for f in found), [(f.line, f.message) for f in found]


def test_syntax_errors_are_one_finding_with_the_line():
    report = validate_script(script("if rows\n    pass"))
    (finding,) = report.errors
    assert finding.rule == "syntax" and finding.line == BODY_LINE and finding.fix == language.FIXES["syntax"]
    assert report.summary() == "invalid: 1 errors (syntax)"


def test_the_column_is_the_offending_node():
    (finding,) = findings("x = 1 + params.gi_frame", "attribute-not-allowed")
    assert (finding.line, finding.col) == (BODY_LINE, 4 + len("x = 1 + "))


def test_structure_module_level_code_missing_entry_and_nested_defs():
    no_entry = HEAD + TAIL.replace("run_script(run, steps=1)\n", "")
    assert "structure" in validate_script(no_entry).rules
    twice = script("pass") + "run_script(run, steps=1)\n"
    assert any("called once" in f.message for f in validate_script(twice).errors)
    module_call = HEAD.replace("\n\ndef run", '\nROWS = call_tool("fetch_property_data")\n\n\ndef run') + TAIL
    assert any("move call_tool" in f.message for f in validate_script(module_call).errors)
    nested = findings("def inner():\n    return 1\nrows = [inner()]", "structure")
    assert nested and "def inner inside" in nested[0].message
    decorated = HEAD.replace("def run", "@log\ndef run") + TAIL
    assert any(f.rule == "node-not-allowed" and "decorators" in f.message for f in validate_script(decorated).errors)


def test_imports_only_from_meta_agent_tools_by_their_names():
    def rules_of(head_import: str) -> set[str]:
        return validate_script(HEAD.replace("from meta_agent.tools import", head_import, 1) + TAIL).rules

    assert "import-not-allowed" in rules_of("from os import path\nfrom meta_agent.tools import")
    assert "import-not-allowed" in rules_of("from meta_agent.tools import get_tool,")
    assert "import-not-allowed" in rules_of("from meta_agent.tools.runtime import")
    aliased = HEAD.replace("call_tool,", "call_tool as ct,") + TAIL
    assert any("import names as they are" in f.message for f in validate_script(aliased).errors)
    unimported = script("x = power(2, 3)").replace(" power,", "")
    assert any("used but not imported" in f.message for f in validate_script(unimported).errors)


def test_secrets_come_from_the_secret_scanner():
    assert findings('key = "AKIAIOSFODNN7EXAMPLE"', "hardcoded-secret")
    assert validate_script(script('label = "X-GitHub-Api-Version"\nlog(label)')).valid


def test_unregistered_tools_are_rejected_against_the_catalog_given():
    catalog = ToolCatalog({"calculate_dscr": frozenset({"noi", "debt_service"})})
    ok = script("x = call_tool('calculate_dscr', noi=1.0, debt_service=2.0)")
    assert validate_script(ok, catalog).valid
    other = script("x = call_tool('export_to_csv', data=rows, path='a.csv')")
    assert "unknown-tool" in validate_script(other, catalog).rules
    assert validate_script(other).valid  # the default catalog is the registry


def test_finding_render_and_report_dict():
    finding = Finding(12, "name-not-allowed", "'open' is not in the script language", col=4,
                      fix=language.FIXES["name-not-allowed"])
    assert finding.render("s.py") == ("s.py:12:5: [name-not-allowed] 'open' is not in the script language — fix: "
                                      + language.FIXES["name-not-allowed"])
    assert Finding(1, "syntax", "x").render().endswith("— fix: " + language.FIXES["syntax"])
    report = validate_script(script("x = open('a')"))
    doc = report.as_dict()
    assert doc["valid"] is False and doc["language"] == "meta_agent.tools.language"
    assert {"line", "col", "rule", "message", "fix", "severity"} <= set(doc["errors"][0])
    assert report.render("s.py").startswith(f"s.py:{BODY_LINE}:")


def test_the_duration_is_reported():
    report = validate_script(script("x = 1"))
    assert report.duration_ms > 0 and report.as_dict()["duration_ms"] >= 0
    assert validate_script("def (:\n").duration_ms > 0


def test_validate_file_names_the_problem_with_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        validate_file(tmp_path / "missing.py")
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00import os")
    with pytest.raises(InputError, match="not UTF-8"):
        validate_file(binary)
    with pytest.raises(InputError, match="cannot be read"):
        validate_file(tmp_path)
    good = tmp_path / "good.py"
    good.write_text(script("x = 1"), encoding="utf-8")
    assert validate_file(good).valid
