"""The validator: every hostile script is rejected with the right rule; clean scripts pass.

The corpus (tests/scriptgen/hostile/*.py) shares a contract-conforming prologue, so the
hostile lines are what each file is rejected for. EXPECTED names the rule each must trip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meta_agent.errors import InputError
from meta_agent.scriptgen.validator import ToolCatalog, validate_file, validate_script

HOSTILE = Path(__file__).with_name("hostile")

EXPECTED: dict[str, set[str]] = {
    "alias_eval": {"code-exec"},
    "breakpoint_input": {"forbidden-call"},
    "builtins_subscript": {"dunder-access"},
    "compile_call": {"code-exec"},
    "ctypes_call": {"import-not-allowed"},
    "dunder_import": {"dynamic-import"},
    "dynamic_tool_name": {"dynamic-tool"},
    "env_exfil": {"env-access"},
    "environ_dump": {"env-access"},
    "eval_call": {"code-exec", "bandit:B307"},
    "exec_base64": {"code-exec", "import-not-allowed", "bandit:B102"},
    "format_string_escape": {"dunder-access"},
    "frame_escape": {"frame-introspection"},
    "from_os_import_system": {"module-attr-not-allowed"},
    "getattr_games": {"reflection"},
    "globals_lookup": {"reflection"},
    "hardcoded_aws_key": {"hardcoded-secret"},
    "hardcoded_openai_key": {"hardcoded-secret"},
    "high_entropy_token": {"high-entropy-string"},
    "http_client": {"import-not-allowed"},
    "importlib_import": {"dynamic-import"},
    "logging_file_handler": {"module-attr-not-allowed"},
    "module_rebinding": {"reflection"},
    "multiprocessing_spawn": {"import-not-allowed"},
    "nosec_comment": {"nosec-comment", "bandit:B108"},  # bandit still reports: --ignore-nosec
    "os_popen_alias": {"module-attr-not-allowed"},
    "os_system": {"module-attr-not-allowed", "bandit:B605"},
    "path_traversal": {"path-traversal"},
    "pathlib_read_ssh_key": {"file-outside-results"},
    "pickle_loads": {"import-not-allowed"},
    "private_key_pem": {"hardcoded-secret"},
    "private_tool_internals": {"private-access"},
    "read_etc_passwd": {"file-outside-results"},
    "results_dir_redefined": {"results-dir-redefined"},
    "results_parent": {"path-traversal"},
    "setattr_patch": {"reflection"},
    "shutil_copy": {"import-not-allowed"},
    "socket_exfil": {"import-not-allowed"},
    "subclasses_escape": {"dunder-access"},
    "subprocess_shell": {"import-not-allowed", "bandit:B602"},
    "syntax_error": {"syntax"},
    "sys_modules": {"module-attr-not-allowed"},
    "unknown_tool": {"unknown-tool"},
    "urllib_exfil": {"import-not-allowed"},
    "vars_module": {"reflection"},
    "write_outside_results": {"file-outside-results"},
    "write_params_file": {"file-outside-results"},
}

CLEAN = '''"""A hand-written script that follows the contract."""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")


def main():
    params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))
    log.info("step 1/2: DSCR")
    dscr = call_tool("calculate_dscr", noi=[1.5, 2.0], debt_service=[1.0, 1.6])
    out = RESULTS_DIR / "dscr.json"
    out.write_text(json.dumps(dscr))
    call_tool("export_to_csv", data=[{"dscr": d} for d in dscr], path="dscr.csv")
    with open(RESULTS_DIR / f"notes-{params.get('year')}.txt", "w", encoding="utf-8") as f:
        f.write("ok")
    (RESULTS_DIR / "result.json").write_text(json.dumps({"status": "succeeded", "dscr": dscr}))


if __name__ == "__main__":
    main()
'''


def test_the_corpus_has_at_least_25_scripts_and_every_one_has_an_expected_rule():
    files = sorted(p.stem for p in HOSTILE.glob("*.py"))
    assert len(files) >= 25
    assert set(files) == set(EXPECTED), "every hostile file needs its expected rule (and vice versa)"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_script_is_rejected_with_the_right_rule(name):
    report = validate_file(HOSTILE / f"{name}.py")
    assert not report.valid
    missing = EXPECTED[name] - report.rules
    assert not missing, f"{name}: expected {sorted(EXPECTED[name])}, got {sorted(report.rules)}"
    for finding in report.errors:
        assert finding.line >= 1 and finding.rule and finding.message


def test_a_clean_script_passes_with_no_findings():
    report = validate_script(CLEAN)
    assert report.valid, [(f.line, f.rule, f.message) for f in report.findings]
    assert report.findings == [] and report.bandit.startswith("bandit ")


def test_findings_carry_the_offending_line():
    source = CLEAN.replace('    log.info("step 1/2: DSCR")', '    log.info("step 1/2: DSCR")\n    eval("1")')
    report = validate_script(source)
    line = next(i for i, text in enumerate(source.splitlines(), 1) if 'eval("1")' in text)
    assert any(f.rule == "code-exec" and f.line == line for f in report.errors)


@pytest.mark.parametrize(("snippet", "rule"), [
    ('(RESULTS_DIR / "/etc/x").write_text("a")', "path-traversal"),
    ('Path(str(RESULTS_DIR) + "/../x").write_text("a")', "file-outside-results"),
    ('call_tool("export_to_csv", data=[], path="/tmp/x.csv")', "file-outside-results"),
    ('call_tool("export_to_csv", data=[], path="a.csv", results_dir="/etc")', "file-outside-results"),
    ('call_tool("calculate_dscr", noi=1.0, debt_service=1.0, fudge=2)', "tool-args"),
    ('call_tool("calculate_dscr", 1.0, 1.0)', "tool-args"),
    ('x = os.getenv("HOME")', "env-access"),
    ('x = "{0.__init__}".format(log)', "dunder-access"),
    ('template = "{0." + "x}"\n    template.format(log)', "reflection"),
    ('x = getattr(log, "_cache")', "private-access"),
    ('x = type(log).mro()', "frame-introspection"),
    ('password = "hunter2hunter2"', "hardcoded-secret"),
    ('cfg = {"api_key": "abcd1234"}', "hardcoded-secret"),
])
def test_single_rules(snippet, rule):
    source = CLEAN.replace('    log.info("step 1/2: DSCR")', "    " + snippet)
    report = validate_script(source, run_bandit=False)
    assert rule in report.rules, (snippet, [(f.rule, f.message) for f in report.findings])


@pytest.mark.parametrize("literal", [
    "dscr_by_property_type.xlsx", "DebtServiceCoverageRatio", "2024-01-01T00:00:00+00:00",
    "P-001,P-002,P-003,P-004", "SELECT property_id, period FROM cash_flows", "fetch_financial_data",
    "123e4567-e89b-12d3-a456-426614174000",
])
def test_ordinary_literals_are_not_taken_for_secrets(literal):
    source = CLEAN.replace('    log.info("step 1/2: DSCR")', f"    label = {literal!r}\n    log.info(label)")
    report = validate_script(source, run_bandit=False)
    assert report.valid, [(f.rule, f.message) for f in report.findings]


def test_shape_fingerprints_are_not_taken_for_secrets():
    """Every generated script carries its 24-hex-digit shape fingerprint; hex keys are 32+ long."""
    import hashlib

    for i in range(300):
        fingerprint = hashlib.sha256(str(i).encode()).hexdigest()[:24]
        source = CLEAN.replace('    log.info("step 1/2: DSCR")', f"    x = {fingerprint!r}\n    log.info(x)")
        assert validate_script(source, run_bandit=False).valid, fingerprint


def test_a_random_key_under_an_innocent_name_is_caught_and_so_is_a_hex_token():
    import secrets

    for value in (secrets.token_urlsafe(24), secrets.token_hex(20)):
        source = CLEAN.replace('    log.info("step 1/2: DSCR")', f"    x = {value!r}\n    log.info(x)")
        assert "high-entropy-string" in validate_script(source, run_bandit=False).rules, value


def test_the_contract_is_enforced_result_json_and_results_dir():
    no_result = CLEAN.replace('    (RESULTS_DIR / "result.json").write_text(json.dumps({"status": "succeeded", "dscr": dscr}))\n', "")
    assert "contract" in validate_script(no_result, run_bandit=False).rules
    no_root = "\n".join(line for line in CLEAN.splitlines() if not line.startswith("RESULTS_DIR ="))
    assert "contract" in validate_script(no_root, run_bandit=False).rules


def test_unregistered_tools_are_rejected_against_the_catalog_given():
    catalog = ToolCatalog({"calculate_dscr": frozenset({"noi", "debt_service"})})
    source = CLEAN.replace('    call_tool("export_to_csv", data=[{"dscr": d} for d in dscr], path="dscr.csv")\n', "")
    assert validate_script(source, catalog, run_bandit=False).valid
    assert "unknown-tool" in validate_script(CLEAN, catalog, run_bandit=False).rules


def test_validate_file_names_the_problem_with_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        validate_file(tmp_path / "missing.py")
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00import os")
    with pytest.raises(InputError, match="not UTF-8"):
        validate_file(binary)
