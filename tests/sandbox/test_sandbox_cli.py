"""``meta-agent sandbox``: run, doctor, build-image, sweep — with --json and malformed input."""

from __future__ import annotations

import json

import pytest

from meta_agent.cli import main

SCRIPT = """\
import json, os
p = json.load(open(os.environ["META_AGENT_PARAMS"]))
print("rate is", p["rate"])
json.dump({"figures": {"doubled": p["rate"] * 2}}, open(os.path.join(os.environ["META_AGENT_RESULTS_DIR"], "result.json"), "w"))
"""


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_local_json_prints_one_document(tmp_path, capsys):
    f = tmp_path / "s.py"
    f.write_text(SCRIPT)
    code, out, err = run_cli(capsys, "sandbox", "run", str(f), "--params", '{"rate": 0.25}', "--runner", "local",
                             "--timeout", "30", "--results-dir", str(tmp_path / "r"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "succeeded" and doc["result_json"] == {"figures": {"doubled": 0.5}}
    assert doc["isolation"] == "local" and doc["strength"].startswith("weaker")
    assert "rate is 0.25" in doc["stdout"]


def test_run_human_streams_output_and_says_local_is_weaker(tmp_path, capsys):
    f = tmp_path / "s.py"
    f.write_text(SCRIPT)
    code, out, err = run_cli(capsys, "sandbox", "run", str(f), "--params", '{"rate": 1}', "--runner", "local",
                             "--timeout", "30")
    assert code == 0
    assert "out| rate is 1" in err and "weaker" in err
    assert "succeeded" in out and "weaker local runner" in out


def test_run_failure_exits_1_with_the_sentence(tmp_path, capsys):
    f = tmp_path / "s.py"
    f.write_text("raise ValueError('bad rate')\n")
    code, out, err = run_cli(capsys, "sandbox", "run", str(f), "--runner", "local", "--timeout", "30", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "failed" and "ValueError: bad rate" in doc["message"]


@pytest.mark.parametrize("args,fragment", [
    (["--params", "{rate: 1}"], "--params is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (["--params", "[1]"], "--params must be a JSON object"),
    (["--params", "@/nonexistent.json"], "does not exist"),
    (["--timeout", "0"], "--timeout must be a positive number"),
    (["--memory-mb", "0"], "limits.memory_mb must be a positive integer"),
    (["--runner", "vm"], "Runner 'vm' is not one of auto, container, local"),
])
def test_run_rejects_malformed_input_with_a_clear_sentence(tmp_path, capsys, args, fragment):
    f = tmp_path / "s.py"
    f.write_text("print(1)\n")
    code, out, err = run_cli(capsys, "sandbox", "run", str(f), *args)
    assert code == 2 and out == ""
    assert fragment in err, err


def test_run_missing_script(capsys):
    code, out, err = run_cli(capsys, "sandbox", "run", "/nonexistent/script.py")
    assert code == 2 and "Script /nonexistent/script.py does not exist" in err


def test_params_from_a_file(tmp_path, capsys):
    f = tmp_path / "s.py"
    f.write_text(SCRIPT)
    p = tmp_path / "p.json"
    p.write_text('{"rate": 3}')
    code, out, _ = run_cli(capsys, "sandbox", "run", str(f), "--params", f"@{p}", "--runner", "local", "--json")
    assert code == 0 and json.loads(out)["result_json"]["figures"]["doubled"] == 6


def test_run_record_keeps_artifacts_in_the_db(tmp_path, capsys, ops_env):
    from meta_agent.sandbox.records import recent_runs

    f = tmp_path / "s.py"
    f.write_text(SCRIPT)
    code, out, _ = run_cli(capsys, "sandbox", "run", str(f), "--params", '{"rate": 2}', "--runner", "local",
                           "--record", "--json")
    assert code == 0
    doc = json.loads(out)
    runs = recent_runs(ops_env)
    assert [r["run_id"] for r in runs] == [doc["run_id"]]
    assert doc["recorded"]["artifacts"][0].endswith("result.json")


def test_doctor_json_without_probe(capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/engine.sock")
    code, out, _ = run_cli(capsys, "sandbox", "doctor", "--no-probe", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["engine"]["answers"] is False and "unix:///nonexistent/engine.sock" in doc["engine"]["error"]
    assert doc["isolation"] == "local" and doc["weaker"] is True
    assert doc["strength"].startswith("weaker") or doc["strength"].startswith("weakest")


def test_doctor_human_says_plainly_when_isolation_is_weaker(capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/engine.sock")
    code, out, _ = run_cli(capsys, "sandbox", "doctor")
    assert code == 0
    assert "Isolation is the weaker local kind" in out and "succeeded" in out


def test_container_required_but_absent_is_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/engine.sock")
    f = tmp_path / "s.py"
    f.write_text("print(1)\n")
    code, out, err = run_cli(capsys, "sandbox", "run", str(f), "--runner", "container")
    assert code == 2 and out == ""
    assert "No container engine answers" in err and "scripts/container-engine.sh" in err


@pytest.mark.container
def test_doctor_with_an_engine_reports_the_container(container_engine, capsys):
    code, out, _ = run_cli(capsys, "sandbox", "doctor", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["isolation"] == "container" and doc["weaker"] is False
    assert doc["probe"]["status"] == "succeeded" and doc["probe"]["network"].startswith("blocked")
    assert doc["probe"]["uid"] != 0


@pytest.mark.container
def test_build_image_is_idempotent(container_engine, capsys):
    code, out, _ = run_cli(capsys, "sandbox", "build-image", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["kind"] == "local" and doc["built"] is False  # the fixture built it


@pytest.mark.container
def test_run_in_the_container_from_the_cli(tmp_path, capsys, container_engine):
    f = tmp_path / "s.py"
    f.write_text(SCRIPT)
    code, out, _ = run_cli(capsys, "sandbox", "run", str(f), "--params", '{"rate": 2}', "--runner", "container",
                           "--memory-mb", "256", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["isolation"] == "container" and doc["runner"].startswith("container:")
    assert doc["details"]["network"] == "none" and doc["strength"].startswith("strong")


@pytest.mark.container
def test_sweep_json(container_engine, capsys):
    code, out, _ = run_cli(capsys, "sandbox", "sweep", "--no-runs", "--json")  # other tests' run containers stay
    doc = json.loads(out)
    assert code == 0 and isinstance(doc["orphans_removed"], list) and doc["run_containers_removed"] == []


@pytest.mark.container
def test_forced_rebuild_leaves_no_stale_image(container_engine, capsys):
    """Outcome: re-importing the local image replaces the old one (no dangling copies pile up)."""
    before = {i.id for i in container_engine.client.images.list(filters={"label": "meta-agent.sandbox-image=local"})}
    code, out, _ = run_cli(capsys, "sandbox", "build-image", "--force", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["built"] is True
    after = {i.id for i in container_engine.client.images.list(filters={"label": "meta-agent.sandbox-image=local"})}
    assert doc["image_id"] in after and doc["image_id"] not in before
    assert len(after) <= len(before), (before, after)
