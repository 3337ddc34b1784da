"""The run policy on the command line: ``sandbox run`` (always provenance ``user``) refused
under local:rlimits with the sentence, run with ``--allow-weak-isolation`` (and recorded
with ``--record``); ``sandbox doctor`` shows the provenance × isolation matrix."""

from __future__ import annotations

import json
import re

import pytest

from meta_agent.cli import main
from meta_agent.sandbox.policy import STRONGER_ISOLATION

SCRIPT = """\
import json, os
json.dump({"figures": {"x": 1}}, open(os.path.join(os.environ["META_AGENT_RESULTS_DIR"], "result.json"), "w"))
"""


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def rlimits_only(tmp_path, monkeypatch):
    """No bubblewrap on PATH: ``--runner local`` is the plain rlimits runner (the weakest)."""
    empty = tmp_path / "no-bwrap"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def script_file(tmp_path):
    f = tmp_path / "s.py"
    f.write_text(SCRIPT)
    return f


def test_sandbox_run_is_refused_under_rlimits_with_the_sentence(tmp_path, capsys, rlimits_only):
    code, out, err = run_cli(capsys, "sandbox", "run", str(script_file(tmp_path)), "--runner", "local",
                             "--results-dir", str(tmp_path / "r"), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "refused" and doc["runner"] == "local:rlimits"
    assert STRONGER_ISOLATION in doc["message"] and doc["message"].startswith("A user script")
    assert doc["policy"] == {**doc["policy"], "provenance": "user", "allowed": False, "override_used": False}
    assert not (tmp_path / "r").exists()


def test_sandbox_run_refusal_for_people_is_one_clear_line(tmp_path, capsys, rlimits_only):
    code, out, err = run_cli(capsys, "sandbox", "run", str(script_file(tmp_path)), "--runner", "local")
    assert code == 1
    flat = re.sub(r"\s+", " ", out)
    assert "refused: A user script" in flat and "install bubblewrap (apt-get install bubblewrap)" in flat
    assert "--allow-weak-isolation" in flat and "Traceback" not in out + err


def test_sandbox_run_with_allow_weak_isolation_runs_and_records_it(tmp_path, capsys, rlimits_only, ops_env):
    code, out, err = run_cli(capsys, "sandbox", "run", str(script_file(tmp_path)), "--runner", "local",
                             "--allow-weak-isolation", "--record", "--json")
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["status"] == "succeeded" and doc["runner"] == "local:rlimits"
    assert doc["policy"]["override_used"] is True and doc["policy"]["provenance"] == "user"
    from meta_agent.sandbox.records import recent_runs

    row = recent_runs(ops_env, 1)[0]
    assert row["run_id"] == doc["recorded"]["run_id"]
    assert row["details"]["policy"]["override_used"] is True and row["details"]["guard"] is False


def test_sandbox_run_refusal_with_record_is_recorded(tmp_path, capsys, rlimits_only, ops_env):
    code, out, _ = run_cli(capsys, "sandbox", "run", str(script_file(tmp_path)), "--runner", "local", "--record",
                           "--json")
    assert code == 1
    doc = json.loads(out)
    from meta_agent.sandbox.records import recent_runs

    row = recent_runs(ops_env, 1)[0]
    assert row["run_id"] == doc["recorded"]["run_id"] and row["status"] == "refused"
    assert row["details"]["policy"]["allowed"] is False and STRONGER_ISOLATION in row["message"]


def test_sandbox_run_has_no_provenance_option(tmp_path, capsys):
    code, out, err = run_cli(capsys, "sandbox", "run", str(script_file(tmp_path)), "--provenance", "template")
    assert code != 0 and "No such option" in err + out


def test_sandbox_run_user_script_runs_under_bwrap_without_the_override(tmp_path, capsys, bwrap_runner):
    code, out, err = run_cli(capsys, "sandbox", "run", str(script_file(tmp_path)), "--runner", "local", "--json")
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["runner"] == "local:bwrap" and doc["policy"]["allowed"] and not doc["policy"]["override_used"]


def test_doctor_json_has_the_matrix_for_this_machine(capsys):
    code, out, _ = run_cli(capsys, "sandbox", "doctor", "--no-probe", "--json")
    assert code == 0
    rep = json.loads(out)
    rows = {r["runner"]: r for r in rep["policy"]["matrix"]}
    assert list(rows) == ["container", "local:bwrap", "local:rlimits"]
    assert rows["local:rlimits"]["available"] is True and rows["local:rlimits"]["template"] == "runs"
    assert rows["local:rlimits"]["llm"].startswith("refused") and rows["local:rlimits"]["user"].startswith("refused")
    assert all(rows[k][p] == "runs" for k in ("container", "local:bwrap") for p in ("template", "llm", "user"))
    assert rows["local:bwrap"]["available"] is rep["bwrap"]["works"]
    used = [r["runner"] for r in rep["policy"]["matrix"] if r["used"]]
    assert used and rep["runner"]["name"].startswith(used[0].split(":")[0])


def test_doctor_prints_the_matrix(capsys):
    code, out, _ = run_cli(capsys, "sandbox", "doctor", "--no-probe")
    assert code == 0
    assert "provenance × isolation" in out and "local:rlimits" in out and "refused" in out and "→" in out
