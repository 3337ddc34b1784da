"""CLI conventions on the foundation commands: one JSON document with --json, one-sentence
errors on stderr with meaningful exit codes, bad input named precisely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meta_agent.cli import main

BIN = Path(sys.executable).parent / "meta-agent"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_json(out: str):
    return json.loads(out)  # raises if there is anything besides one JSON document


def test_db_upgrade_and_status_json(ops_env, capsys):
    code, out, _ = run(capsys, "db", "status", "--json")
    assert code == 0 and one_json(out)["up_to_date"] is True
    code, out, _ = run(capsys, "db", "upgrade", "--json")
    doc = one_json(out)
    assert code == 0 and doc["up_to_date"] and set(doc["current"]) == set(doc["heads"])


def test_db_status_on_an_empty_database_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("META_AGENT_DB_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, out, _ = run(capsys, "db", "status", "--json")
    assert code == 1 and one_json(out)["up_to_date"] is False


def test_commands_refuse_an_unmigrated_database_and_say_how_to_fix_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("META_AGENT_DB_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    f = tmp_path / "x.jsonl"
    f.write_text("{}\n")
    for args in (["logs", "ingest", str(f)], ["logs", "quarantine"]):
        code, out, err = run(capsys, *args)
        assert code == 3 and out == ""
        assert "is not migrated (at an empty schema; needs" in err and "meta-agent db upgrade" in err


def test_fleet_simulate_to_file_then_ingest_then_quarantine(ops_env, tmp_path, capsys):
    out_file = tmp_path / "fleet.jsonl"
    code, out, err = run(capsys, "fleet", "simulate", "--agents", "3", "--days", "2", "--per-day", "10",
                         "--end-date", "2026-11-01", "--out", str(out_file), "--json")
    sim = one_json(out)
    assert code == 0 and err == "" and sim["executions"] == len(out_file.read_text().splitlines()) > 0
    with out_file.open("a") as f:
        f.write('{"execution_id": "broken"\n')
    code, out, err = run(capsys, "logs", "ingest", str(out_file), "--json")
    [report] = one_json(out)["files"]
    assert code == 0 and report["accepted"] == sim["executions"] and report["quarantined"] == 1
    code, out, _ = run(capsys, "logs", "quarantine", "--json")
    q = one_json(out)
    assert q["total"] == 1 and q["records"][0]["source"] == f"{out_file}:{sim['executions'] + 1}"
    assert "not valid JSON" in q["records"][0]["reason"]


def test_human_ingest_output_names_file_and_line_of_bad_records(ops_env, tmp_path, capsys):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"execution_id": "x1", "agent_id": "a", "started_at": "2026-11-01T00:00:00Z", '
                 '"latency_ms": 1, "status": "weird"}\n')
    code, out, err = run(capsys, "logs", "ingest", str(f))
    assert code == 0
    assert f"{f}:1: status: Input should be" in err.replace("\n", "")


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["logs", "ingest", "/nonexistent/file.jsonl"], 2, "no such file"),
        (["fleet", "simulate", "--incident", "meltdown:support-triage:-1", "--out", "/tmp/x.jsonl"], 2,
         "unknown kind 'meltdown'"),
        (["fleet", "simulate", "--incident", "outage:nobody:-1", "--out", "/tmp/x.jsonl"], 2, "no agent 'nobody'"),
        (["fleet", "simulate", "--incident", "outage:support-triage:-90", "--out", "/tmp/x.jsonl"], 2,
         "outside the simulated days"),
        (["fleet", "simulate", "--end-date", "yesterday", "--out", "/tmp/x.jsonl"], 2, "--end-date 'yesterday'"),
        (["fleet", "simulate", "--agents", "0"], 2, "Invalid value"),
    ],
)
def test_bad_input_is_one_clear_sentence(ops_env, capsys, args, code, needle):
    got, out, err = run(capsys, *args)
    assert got == code and out == "" and needle in err
    assert "Traceback" not in err


def test_bad_database_url_and_unreachable_server(tmp_path):
    env = {**os.environ, "META_AGENT_DB_URL": "not a url at all"}
    p = subprocess.run([str(BIN), "db", "status"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2 and "META_AGENT_DB_URL is not a database URL" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and p.stdout == ""
    env["META_AGENT_DB_URL"] = "postgresql+psycopg://u:secretpw@127.0.0.1:1/nope"
    p = subprocess.run([str(BIN), "db", "upgrade", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 3 and "cannot reach the ops database" in p.stderr and p.stdout == ""
    assert "secretpw" not in p.stderr  # the password is never echoed
