"""``meta-agent request`` and ``meta-agent script``: JSON output, errors that name the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meta_agent.cli import main

HOSTILE = Path(__file__).with_name("corpus") / "hostile"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_env(sqlite_url, monkeypatch, tmp_path, data_url):
    from meta_agent.store import migrate

    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("META_AGENT_DB_URL", sqlite_url)
    monkeypatch.setenv("META_AGENT_ARTIFACTS", str(tmp_path / "artifacts"))
    return sqlite_url


def test_validate_rejects_a_hostile_script_with_line_rule_message(capsys):
    path = HOSTILE / "hop_uuid_os.py"
    code, out, err = run(capsys, "script", "validate", str(path), "--json")
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert doc["valid"] is False
    assert {"line", "col", "rule", "message", "fix"} <= set(doc["errors"][0])
    lines = path.read_text(encoding="utf-8").splitlines()
    hop = next(i for i, text in enumerate(lines, 1) if "uuid.os.system" in text)
    imported = next(i for i, text in enumerate(lines, 1) if text == "import uuid")
    assert any(e["rule"] == "attribute-not-allowed" and e["line"] == hop for e in doc["errors"])
    assert any(e["rule"] == "import-not-allowed" and e["line"] == imported and e["fix"] for e in doc["errors"])


def test_validate_prints_line_rule_and_fix_for_a_person(capsys):
    code, out, _ = run(capsys, "script", "validate", str(HOSTILE / "other_eval_params.py"))
    assert code == 1
    assert "invalid: 1 errors (name-not-allowed)" in out and "eval" in out


def test_validate_accepts_a_generated_script(capsys, tmp_path):
    from meta_agent.scriptgen.generator import render
    from meta_agent.scriptgen.offline_planner import OfflinePlanner

    path = tmp_path / "ok.py"
    path.write_text(render(OfflinePlanner().plan("DSCR below 1.25 as Excel").requirements))
    code, out, _ = run(capsys, "script", "validate", str(path))
    assert code == 0 and "valid" in out


@pytest.mark.parametrize(("argv", "needle"), [
    (["script", "validate", "/no/such/script.py"], "no such file"),
    (["script", "validate", "."], "is a directory"),
    (["request", ""], "the request is empty"),
    (["request", "DSCR", "--format", "docx"], "--format 'docx' is not one of"),
    (["request", "DSCR", "--planner", "magic"], "--planner 'magic'"),
    (["script", "show", "req-nope"], "no script request 'req-nope'"),
    (["script", "show", "deadbeef"], "no request or script 'deadbeef'"),
    (["script", "list", "--status", "done"], "--status 'done'"),
])
def test_bad_input_is_one_sentence_on_stderr_and_exit_2(capsys, cli_env, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and needle in err and err.startswith("meta-agent: ")
    assert len(err.strip().splitlines()) == 1


def test_bad_input_leaves_no_request_behind(capsys, cli_env):
    run(capsys, "request", "DSCR", "--format", "docx")
    code, out, _ = run(capsys, "script", "list", "--json")
    assert code == 0 and json.loads(out)["requests"] == []


def test_request_is_recorded_and_listed(capsys, cli_env):
    code, out, err = run(capsys, "request", "DSCR below 1.25 for P-003", "--format", "xlsx", "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["status"] == "received" and doc["request_id"].startswith("req-")
    code, out, _ = run(capsys, "script", "list", "--json")
    listed = json.loads(out)
    assert [r["request_id"] for r in listed["requests"]] == [doc["request_id"]]
    assert listed["library"]["reuse_rate"] == 0.0
    code, out, _ = run(capsys, "script", "show", doc["request_id"], "--json")
    assert code == 0 and json.loads(out)["status"] == "received"


def test_an_unmigrated_database_is_refused_with_the_fix(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("META_AGENT_DB_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, _, err = run(capsys, "request", "DSCR")
    assert code == 3 and "meta-agent db upgrade" in err


@pytest.mark.slow
def test_request_wait_runs_through_dagster_and_prints_the_result(capsys, cli_env):
    code, out, err = run(capsys, "request", "DSCR for P-001 and P-002 as CSV", "--wait", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "succeeded" and doc["dagster_run_id"]
    assert doc["plan"]["tools"][:3] == ["fetch_property_data", "fetch_financial_data", "calculate_dscr"]
    assert doc["script"]["valid"] and not doc["script"]["reused"]
    assert doc["run"]["status"] == "succeeded" and any(o.endswith("dscr.csv") for o in doc["run"]["outputs"])
    assert doc["run"]["key_figures"]["properties"] == 2
    # show --source prints exactly the script that ran
    code, out, _ = run(capsys, "script", "show", doc["request_id"], "--source")
    assert code == 0 and out.startswith('"""DSCR per property') and "call_tool(" in out
