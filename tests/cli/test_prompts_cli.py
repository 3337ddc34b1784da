"""``meta-agent prompts`` through the real CLI on SQLite and PostgreSQL: add versions from a
file or stdin, label and roll back, show (text, variables, labels, history and how each
version's executions did), diff, list — each with ``--json``; every bad input prints one
sentence naming the argument and the fix, exits 2 and writes nothing."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from meta_agent.cli import main
from meta_agent.store.engine import engine_for
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_improvement import prompt_label_events, prompt_labels, prompt_versions

AGENT = "support-triage"
V1 = "You triage tickets for {company}.\nReply as JSON: {{\"summary\": …}}\n"
V2 = "You triage tickets for {company} in {language}.\nReply as JSON: {{\"summary\": …}}\n"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def counts(url) -> tuple[int, int, int]:
    with engine_for(url).connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (prompt_versions, prompt_labels, prompt_label_events))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "v1.txt").write_text(V1)
    (tmp_path / "v2.txt").write_text(V2)
    (tmp_path / "broken.txt").write_text("Hello {name\n")
    (tmp_path / "latin1.txt").write_bytes("café {x}".encode("latin-1"))
    return tmp_path


@pytest.fixture
def registry_db(ops_env, files, capsys, monkeypatch):
    """v1 from a file, v2 from stdin, production → v1 then v2, and executions of both."""
    monkeypatch.setenv("META_AGENT_USER", "ana")
    assert run(capsys, "prompts", "add", AGENT, "system", "--file", str(files / "v1.txt"), "--message", "first")[0] == 0
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(V2.encode())))
    assert run(capsys, "prompts", "add", AGENT, "system", "--file", "-", "--by", "bo")[0] == 0
    assert run(capsys, "prompts", "label", AGENT, "system", "production", "v1", "--reason", "first deploy")[0] == 0
    assert run(capsys, "prompts", "label", AGENT, "system", "production", "v2", "--reason", "ship v2")[0] == 0
    records = []
    for i in range(12):
        version, status = ("v1", "success") if i < 4 else ("v2", "failure" if i % 2 else "success")
        at = T0 + timedelta(minutes=i)
        records.append((f"ex-{i}", {"execution_id": f"ex-{i}", "agent_id": AGENT, "started_at": at.isoformat(),
                                    "ended_at": (at + timedelta(seconds=1)).isoformat(), "status": status,
                                    "latency_ms": 1000.0, "prompt_version": version}))
    ingest_items(records, url=ops_env, source="test", origin="test")
    return ops_env


def test_add_label_show_diff_list_and_rollback(registry_db, files, capsys):
    code, out, err = run(capsys, "prompts", "add", AGENT, "system", "--file", str(files / "v1.txt"), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["created"] is False and doc["version"]["version"] == "v1"  # same text: no new version
    assert counts(registry_db) == (2, 1, 2)

    code, out, err = run(capsys, "prompts", "show", AGENT, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["version"]["version"] == "v2" and doc["version"]["text"] == V2  # production
    assert doc["version"]["variables"] == ["company", "language"] and doc["version"]["author"] == "bo"
    assert doc["labels"] == {"production": "v2"}
    assert [v["version"] for v in doc["versions"]] == ["v1", "v2"] and doc["versions"][0]["message"] == "first"
    assert [(h["from_version"], h["to_version"], h["actor"], h["reason"]) for h in doc["history"]] == [
        ("v1", "v2", "ana", "ship v2"), (None, "v1", "ana", "first deploy")]
    assert doc["usage"]["v1"]["executions"] == 4 and doc["usage"]["v1"]["success_rate"] == 1.0
    assert (doc["usage"]["v2"]["executions"], doc["usage"]["v2"]["failures"]) == (8, 4)

    code, out, _ = run(capsys, "prompts", "show", AGENT, "system", "--version", "1", "--json")
    assert code == 0 and json.loads(out)["version"]["text"] == V1
    code, out, _ = run(capsys, "prompts", "show", AGENT, "--label", "production")
    assert code == 0 and "support-triage / system @ v2 (production)" in out
    assert "{company} in {language}" in out and "ship v2" in out and "50.0%" in out  # text, history, usage

    code, out, _ = run(capsys, "prompts", "diff", AGENT, "system", "v1", "v2", "--json")
    doc = json.loads(out)
    assert code == 0 and (doc["a"], doc["b"]) == ("v1", "v2")
    assert doc["diff"].startswith("--- system@v1\n+++ system@v2\n")
    assert "-You triage tickets for {company}.\n+You triage tickets for {company} in {language}.\n" in doc["diff"]
    code, out, _ = run(capsys, "prompts", "diff", AGENT, "system", "v1", "v2")
    assert code == 0 and "+You triage tickets for {company} in {language}." in out

    code, out, _ = run(capsys, "prompts", "list", "--json")
    assert code == 0 and json.loads(out)["prompts"] == [
        {"agent_id": AGENT, "name": "system", "versions": 2, "latest_version": "v2", "labels": {"production": "v2"}}]
    code, out, _ = run(capsys, "prompts", "list", "--agent", "email-drafter", "--json")
    assert code == 0 and json.loads(out) == {"prompts": []}

    code, out, _ = run(capsys, "prompts", "rollback", AGENT, "--reason", "v2 fails half its runs", "--by", "cy",
                       "--json")
    doc = json.loads(out)
    assert code == 0 and (doc["from_version"], doc["to_version"], doc["actor"], doc["changed"]) == ("v2", "v1", "cy",
                                                                                                     True)
    code, out, _ = run(capsys, "prompts", "label", AGENT, "system", "production", "v1", "--reason", "again")
    assert code == 0 and "already points at v1; nothing changed" in out
    assert counts(registry_db) == (2, 1, 3)


@pytest.mark.parametrize("args, needles", [
    (["add", AGENT, "system"], ["--file is required", "- to read stdin"]),
    (["add", AGENT, "system", "--file", "nope.txt"], ["--file 'nope.txt'", "no such file"]),
    (["add", AGENT, "system", "--file", "{files}/broken.txt"], ["unclosed '{'", "line 1, column 7"]),
    (["add", AGENT, "system", "--file", "{files}/latin1.txt"], ["is not UTF-8", "save it as UTF-8"]),
    (["add", "bad agent", "system", "--file", "{files}/v1.txt"], ["agent_id 'bad agent'", "letters, digits"]),
    (["add", AGENT, "system", "--file", "{files}/v1.txt", "--by", " "], ["--by is empty"]),
    (["label", AGENT, "system", "production", "v2"], ["--reason is required"]),
    (["label", AGENT, "system", "production", "v7", "--reason", "x"], ["version 'v7'", "its versions are v1, v2"]),
    (["label", AGENT, "system", "production", "newest", "--reason", "x"], ["'newest' is not a prompt version"]),
    (["label", "email-drafter", "system", "production", "v1", "--reason", "x"],
     ["no prompts registered for agent 'email-drafter'", "prompts exist for support-triage"]),
    (["label", AGENT, "reply", "production", "v1", "--reason", "x"], ["has no prompt 'reply'", "prompts are system"]),
    (["rollback", AGENT, "--label", "candidate", "--reason", "x"], ["label 'candidate'", "is not set"]),
    (["rollback", AGENT, "--reason", ""], ["--reason is required"]),
    (["show", AGENT, "--version", "v1", "--label", "production"], ["--version or --label, not both"]),
    (["show", AGENT, "--version", "v5"], ["--version v5", "has versions v1, v2"]),
    (["show", AGENT, "--label", "canary"], ["--label canary is not set", "production"]),
    (["diff", AGENT, "system", "v1", "v9"], ["version B 'v9'", "v1, v2"]),
    (["list", "--agent", "no/such"], ["--agent 'no/such'"]),
])
def test_bad_input_names_the_problem_and_writes_nothing(registry_db, files, capsys, args, needles):
    before = counts(registry_db)
    args = [a.replace("{files}", str(files)) for a in args]
    code, out, err = run(capsys, "prompts", *args)
    assert code == 2 and out == "", (code, out, err)
    assert all(n in err for n in needles), err
    assert counts(registry_db) == before


def test_rollback_without_a_previous_version_and_an_empty_registry(ops_env, files, capsys):
    code, _, err = run(capsys, "prompts", "show", AGENT)
    assert code == 2 and "the prompt registry is empty" in err and "meta-agent prompts add" in err
    code, out, _ = run(capsys, "prompts", "list")
    assert code == 0 and out == ""
    assert run(capsys, "prompts", "add", AGENT, "system", "--file", str(files / "v1.txt"))[0] == 0
    assert run(capsys, "prompts", "label", AGENT, "system", "production", "v1", "--reason", "go")[0] == 0
    code, out, err = run(capsys, "prompts", "rollback", AGENT, "system", "--reason", "undo")
    assert code == 2 and out == "" and "has only ever pointed at v1" in err
    assert counts(ops_env) == (1, 1, 1)
