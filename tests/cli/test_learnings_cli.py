"""``meta-agent learnings``: list, search, show, deprecate, restore and suggest from the command
line, each with ``--json`` (one document on stdout); bad input is one sentence on stderr naming
the fix, exit 2, nothing changed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from meta_agent.cli import main
from meta_agent.improvement import knowledge as kb
from meta_agent.llm.embeddings import hashing_embed
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_evaluation import (
    failure_cluster_members,
    failure_clusters,
    failure_embeddings,
)
from meta_agent.store.schema_improvement import learning_events, learnings

T0 = datetime(2026, 6, 1, tzinfo=UTC)
TIMEOUT_SIG = "ToolTimeout: fetch_diff timed out after <n>s | tool_call:fetch_diff"
B_TIMEOUT = "ToolTimeout: fetch_diff timed out after <n>s waiting for the diff | tool_call:fetch_diff"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def proposal(agent: str, tool: str, title: str) -> dict:
    """The fields of an improvement_proposals row that ``record`` reads."""
    return {"proposal_id": f"prop-{tool}", "dedup_key": f"tool_change:{tool}", "kind": "tool_change",
            "agent_id": agent, "agents": [agent], "category": "tool", "title": title,
            "change": {"tool": tool, "action": "pin", "from_version": "2.0.0", "to_version": "1.4.2"},
            "evidence": {"finding_ids": ["f-1"]}, "applied": None}


def measured(agent: str, effect: float, lo: float, hi: float) -> dict:
    return {"agent_id": agent, "metric": "success_rate", "unit": "ratio", "before": 0.7, "after": 0.7 + effect,
            "effect": effect, "ci_low": lo, "ci_high": hi, "n_before": 200, "n_after": 200, "method": "test"}


@pytest.fixture
def kb_db(ops_env, monkeypatch):
    monkeypatch.delenv("META_AGENT_LLM_MODELS", raising=False)  # offline: hashing embeddings
    monkeypatch.delenv("META_AGENT_LLM_CONFIG", raising=False)
    monkeypatch.setenv("META_AGENT_USER", "ana")
    ids = {}
    with engine_for(ops_env).begin() as conn:
        ids["timeout"] = kb.record(conn, proposal=proposal("agent-a", "fetch_diff", "Pin fetch_diff to 1.4.2"),
                                   measured=measured("agent-a", 0.18, 0.1, 0.26), source="adoption",
                                   failure_signature=TIMEOUT_SIG, now=T0)["learning_id"]
        ids["parse"] = kb.record(conn, proposal=proposal("agent-b", "parse_invoice", "Validate parse_invoice output"),
                                 measured=measured("agent-b", 0.05, 0.01, 0.09), source="adoption",
                                 failure_signature="ValueError: invalid JSON | tool_call:parse_invoice",
                                 now=T0)["learning_id"]
    return ops_env, ids


def _counts(url) -> tuple[int, int]:
    with engine_for(url).connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (learnings, learning_events))


def test_list_search_show_as_json(kb_db, capsys):
    url, ids = kb_db
    code, out, err = run(capsys, "learnings", "list", "--json")
    assert code == 0, err
    rows = json.loads(out)["learnings"]
    assert {r["learning_id"] for r in rows} == set(ids.values())
    assert all(r["confidence"] == pytest.approx(2 / 3) for r in rows)

    code, out, _ = run(capsys, "learnings", "list", "--agent", "agent-b", "--json")
    assert [r["learning_id"] for r in json.loads(out)["learnings"]] == [ids["parse"]]

    code, out, _ = run(capsys, "learnings", "search", "fetch_diff timeout", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["query"] == "fetch_diff timeout"
    assert [r["learning_id"] for r in doc["results"]] == [ids["timeout"]] and doc["results"][0]["score"] > 0

    code, out, _ = run(capsys, "learnings", "show", ids["timeout"], "--json")
    doc = json.loads(out)
    assert code == 0 and doc["change"] == "tool fetch_diff pinned 2.0.0 → 1.4.2"
    assert [e["kind"] for e in doc["events"]] == ["created"] and doc["evidence"]["proposal_ids"] == ["prop-fetch_diff"]


def test_human_output(kb_db, capsys):
    _, ids = kb_db
    code, out, _ = run(capsys, "learnings", "list")
    assert code == 0 and ids["timeout"] in out and "+0.18 [+0.1, +0.26] ratio" in out
    code, out, _ = run(capsys, "learnings", "show", ids["timeout"])
    assert code == 0 and "tool fetch_diff pinned 2.0.0 → 1.4.2" in out and "created" in out
    code, out, err = run(capsys, "learnings", "search", "kubernetes")
    assert code == 0 and out == "" and "no learning matches 'kubernetes'" in err


def test_deprecate_and_restore_by_hand(kb_db, capsys):
    url, ids = kb_db
    code, out, err = run(capsys, "learnings", "deprecate", ids["timeout"], "--reason", "tool replaced", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "deprecated" and doc["events"][-1]["kind"] == "deprecated"
    assert doc["events"][-1]["details"] == {"actor": "ana", "reason": "tool replaced"}

    code, out, _ = run(capsys, "learnings", "list", "--json")
    assert [r["learning_id"] for r in json.loads(out)["learnings"]] == [ids["parse"]]
    code, out, _ = run(capsys, "learnings", "list", "--all", "--json")
    assert len(json.loads(out)["learnings"]) == 2
    code, out, _ = run(capsys, "learnings", "search", "fetch_diff", "--json")
    assert json.loads(out)["results"] == []

    code, out, _ = run(capsys, "learnings", "restore", ids["timeout"], "--reason", "it is back", "--by", "bo")
    assert code == 0 and f"learning {ids['timeout']} is now active" in out
    code, out, _ = run(capsys, "learnings", "show", ids["timeout"], "--json")
    assert [(e["kind"], e["source"]) for e in json.loads(out)["events"]][-1] == ("restored", "bo")


def test_suggest_offline(kb_db, capsys):
    url, ids = kb_db
    day = date(2026, 6, 2)
    with engine_for(url).begin() as conn:
        conn.execute(failure_embeddings.insert().values(
            execution_id="e-b1", agent_id="agent-c", started_at=T0, status="failure", model="m", prompt_version="v1",
            error_type="ToolTimeout", failing_action="tool_call:fetch_diff", signature=B_TIMEOUT,
            embedding_model="offline:hashing-v1-384", dim=384, vector=hashing_embed([B_TIMEOUT])[0], embedded_at=T0))
        conn.execute(failure_cluster_members.insert().values(day=day, execution_id="e-b1", cluster_key="k1"))
        conn.execute(failure_clusters.insert().values(
            day=day, cluster_key="k1", label="ToolTimeout fetch_diff", size=1, agents={"agent-c": 1},
            error_types={"ToolTimeout": 1}, top_terms=["fetch_diff"], first_seen=T0, last_seen=T0, trend="new",
            daily_counts={}, sample_execution_ids=["e-b1"], window_start=day - timedelta(days=6), created_at=T0))
    code, out, err = run(capsys, "learnings", "suggest", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [(s["learning_id"], s["to_agent"], s["cluster_key"]) for s in doc["suggestions"]] == \
        [(ids["timeout"], "agent-c", "k1")]
    code, out, err = run(capsys, "learnings", "suggest", "--threshold", "0.99")
    assert code == 0 and out == "" and "no suggestions at cosine ≥ 0.99" in err


BAD = [
    (["show", "learn-nope"], ["no learning 'learn-nope'", "learnings list --all"]),
    (["search", "  "], ["has no words"]),
    (["list", "--limit", "0"], ["limit 0", "1 to 10000"]),
    (["deprecate", "learn-nope", "--reason", "x"], ["no learning 'learn-nope'"]),
    (["deprecate", "{timeout}", "--reason", " "], ["--reason is empty"]),
    (["restore", "{timeout}", "--reason", "x"], ["already active"]),
    (["suggest", "--threshold", "0"], ["threshold 0.0", "(0, 1]"]),
]


def test_bad_input_names_the_problem_and_changes_nothing(kb_db, capsys):
    url, ids = kb_db
    before = _counts(url)
    for args, needles in BAD:
        code, out, err = run(capsys, "learnings", *[a.format(**ids) for a in args], "--json")
        assert code == 2 and out == "", args
        assert all(n in err for n in needles), (args, err)
    assert _counts(url) == before


def test_deprecate_needs_a_reason(kb_db, capsys):
    _, ids = kb_db
    code, out, err = run(capsys, "learnings", "deprecate", ids["timeout"])
    assert code == 2 and "--reason" in err
