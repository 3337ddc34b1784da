"""``meta-agent proposals``: the real CLI against a migrated ops DB (SQLite and PostgreSQL) —
list, show, approve, reject, apply (a candidate; ``--apply`` for production) and rollback,
each with ``--json``; every bad input prints one sentence naming the problem and the fix,
exits 2, and changes neither the proposal nor its audit trail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from meta_agent.cli import main
from meta_agent.improvement import prompts, workflow
from meta_agent.improvement.model import Proposal
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_improvement import prompt_labels, proposal_events

DAY = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
AGENT = "support-triage"
V1 = "You are a support agent. Answer {question} briefly."
V2 = "You are a support agent. Answer {question} briefly. Reply in JSON [answer, sources]."


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def proposal(kind: str, risk: str, priority: float) -> Proposal:
    change = {"prompt_change": {"prompt": "system", "base_version": "v1", "text": V2,
                                "edits": [{"rule": "output_format", "why": "replies miss the JSON format"}]},
              "tool_change": {"tool": "crm_lookup", "action": "pin", "from_version": "2.0.0", "to_version": "1.4.2"},
              "config_change": {"setting": "fallback_model", "from": None, "to": "gpt-4o-mini", "model": "gpt-4o"}}[kind]
    return Proposal(kind=kind, agent_id=AGENT, agents=[AGENT], category="prompt", title=f"{kind}: fix [the] format",
                    summary="replies miss the JSON format since v1", change=change,
                    expected={"metric": "success_rate", "unit": "ratio", "current": 0.82, "expected": 0.91,
                              "effect": 0.09, "ci_low": 0.05, "ci_high": 0.13, "confidence_level": 0.95,
                              "method": "two-proportion z-test, v1 vs v0 executions"},
                    risk=risk, confidence=0.8,
                    blast_radius={"traffic_share": 0.12, "agents": [AGENT], "executions_per_day": 340},
                    rollback_plan="move production back to v1", priority=priority,
                    evidence={"finding_ids": ["rc-7"], "execution_ids": ["ex-1", "ex-2"], "cluster_key": "c-3"},
                    diff="--- system@v1\n+++ system@v2\n-briefly.\n+briefly. Reply in JSON [answer, sources].\n"
                    if kind == "prompt_change" else None)


PROMPT = proposal("prompt_change", "low", 3.0)
TOOL = proposal("tool_change", "high", 2.0)
CONFIG = proposal("config_change", "medium", 1.0)


@pytest.fixture
def db(ops_env, monkeypatch) -> sa.Engine:
    monkeypatch.setenv("META_AGENT_USER", "tester")
    engine = engine_for(ops_env)
    with engine.begin() as conn:
        workflow.upsert(conn, [PROMPT, TOOL, CONFIG], day=DAY, now=NOW)
        prompts.create_version(conn, AGENT, "system", V1, author="alice", now=NOW)
        prompts.move_label(conn, AGENT, "system", "production", "v1", actor="alice", reason="first", now=NOW)
    return engine


def state(engine) -> tuple:
    """Every proposal row and the whole audit trail (what a bad input must leave alone)."""
    with engine.connect() as conn:
        rows = workflow.list_proposals(conn, limit=None)
        n = conn.execute(sa.select(sa.func.count()).select_from(proposal_events)).scalar_one()
        labels = sorted(tuple(r) for r in conn.execute(sa.select(prompt_labels.c.label, prompt_labels.c.version)))
    return rows, n, labels


def test_list_shows_the_proposals_by_priority_with_filters(db, capsys):
    code, out, err = run(capsys, "proposals", "list", "--json")
    assert code == 0, err
    doc = json.loads(out)["proposals"]
    assert [p["proposal_id"] for p in doc] == [PROMPT.proposal_id, TOOL.proposal_id, CONFIG.proposal_id]
    assert doc[0]["state"] == "proposed" and doc[0]["events"][0]["actor"] == "generator"
    code, out, _ = run(capsys, "proposals", "list", "--risk", "high", "--json")
    assert code == 0 and [p["kind"] for p in json.loads(out)["proposals"]] == ["tool_change"]
    code, out, _ = run(capsys, "proposals", "list", "--agent", "nobody", "--json")
    assert code == 0 and json.loads(out) == {"proposals": []}
    code, out, _ = run(capsys, "proposals", "list", "--kind", "config_change", "--state", "proposed")
    assert code == 0 and CONFIG.proposal_id in out and PROMPT.proposal_id not in out and "medium" in out
    assert "[the]" in out  # text is shown as written, never read as markup


def test_show_prints_the_change_effect_risk_rollback_evidence_and_trail(db, capsys):
    code, out, err = run(capsys, "proposals", "show", PROMPT.proposal_id)
    assert code == 0, err
    for needle in ("prompt_change: fix [the] format", "expected: success rate 82.0 % → 91.0 % (+9.0 pp, 95 % CI "
                   "+5.0 pp to +13.0 pp)", "method: two-proportion z-test", "risk: low · confidence 80%",
                   "blast radius: 12.0 % of traffic, 1 agent(s) (support-triage), 340 executions/day",
                   "rollback plan: move production back to v1", '"base_version": "v1"', "+++ system@v2",
                   "Reply in JSON [answer, sources].", "evidence: findings rc-7; cluster c-3; executions ex-1, ex-2",
                   "audit trail", "generator"):
        assert needle in out, needle
    code, out, _ = run(capsys, "proposals", "show", PROMPT.proposal_id, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["proposal_id"] == PROMPT.proposal_id and doc["diff"].startswith("--- system@v1")
    assert [e["to_state"] for e in doc["events"]] == ["proposed"]


def test_approve_and_reject_go_through_decide_and_are_audited(db, capsys):
    code, out, err = run(capsys, "proposals", "approve", PROMPT.proposal_id, "--reason", "the evidence is clear",
                         "--json")
    assert code == 0, err
    d = json.loads(out)
    assert (d["proposal_id"], d["from_state"], d["to_state"], d["reviewer"], d["reason"]) == (
        PROMPT.proposal_id, "proposed", "approved", "tester", "the evidence is clear")
    code, out, err = run(capsys, "proposals", "reject", TOOL.proposal_id, "--reason", "too broad", "--by", "bob")
    assert code == 0, err
    assert out.strip() == f"proposal {TOOL.proposal_id}: proposed → rejected by bob (too broad)."
    with db.connect() as conn:
        trail = workflow.events(conn, TOOL.proposal_id)
    assert [(e["to_state"], e["actor"], e["reason"]) for e in trail] == [
        ("proposed", "generator", "generated on 2026-03-12 from rules"), ("rejected", "bob", "too broad")]


def test_apply_makes_a_candidate_then_apply_promotes_and_rollback_undoes(db, capsys):
    pid = PROMPT.proposal_id
    assert run(capsys, "proposals", "approve", pid, "--reason", "ok")[0] == 0
    code, out, err = run(capsys, "proposals", "apply", pid, "--reason", "try it")
    assert code == 0, err
    assert "support-triage/system v2 is the candidate; production untouched (--apply promotes it)" in out
    code, out, err = run(capsys, "proposals", "apply", pid, "--apply", "--reason", "it works", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["from_state"], doc["to_state"], doc["applied"]["production"]) == ("approved", "adopted",
                                                                                  {"from": "v1", "to": "v2"})
    with db.connect() as conn:
        assert prompts.resolve(conn, AGENT, "system").version == "v2"
    code, out, err = run(capsys, "proposals", "rollback", pid, "--reason", "clients broke", "--json")
    assert code == 0, err
    assert json.loads(out)["to_state"] == "rolled_back"
    with db.connect() as conn:
        assert prompts.resolve(conn, AGENT, "system").version == "v1"
    code, out, _ = run(capsys, "proposals", "apply", CONFIG.proposal_id, "--reason", "x")
    assert code == 2  # still proposed


def _bad(pid_prompt: str, pid_tool: str) -> list[tuple[list[str], list[str]]]:
    typo = pid_prompt[:-1] + ("0" if pid_prompt[-1] != "0" else "1")
    return [
        (["approve", pid_prompt], ["reason is missing; say why you approve it (--reason on the CLI"]),
        (["reject", pid_prompt, "--reason", "  "], ["reason is empty; say why you reject it"]),
        (["approve", typo, "--reason", "ok"], [f"there is no proposal '{typo}'; did you mean {pid_prompt}?",
                                              "meta-agent proposals list"]),
        (["approve", pid_tool, "--reason", "ok", "--by", " "], ["--by is empty; give a name"]),
        (["approve", pid_tool, "--reason", "ok"], [f"cannot approve proposal {pid_tool}: it is rejected (by bob",
                                                   "rejected is final"]),
        (["reject", pid_tool, "--reason", "ok"], ["it is already rejected"]),
        (["show", "prop-000000000000"], ["there is no proposal 'prop-000000000000'"]),
        (["list", "--state", "aproved"], ["--state 'aproved' is not one of proposed, approved", "did you mean "
                                          "'approved'?"]),
        (["list", "--risk", "extreme"], ["--risk 'extreme' is not one of low, medium, high"]),
        (["list", "--limit", "0"], ["limit 0 must be a whole number ≥ 1"]),
        (["apply", pid_prompt, "--reason", "go"], [f"cannot apply proposal {pid_prompt}: it is proposed",
                                                   "only an approved proposal can be applied"]),
        (["apply", pid_tool, "--reason", "go", "--apply"], ["it is rejected"]),
        (["rollback", pid_prompt, "--reason", "undo"], [f"cannot roll back proposal {pid_prompt}: it is proposed",
                                                        "only an adopted proposal can be rolled back"]),
        (["rollback", pid_prompt], ["reason is missing; say why you roll it back"]),
    ]


def test_every_bad_input_exits_2_with_its_sentence_and_changes_nothing(db, capsys):
    assert run(capsys, "proposals", "reject", TOOL.proposal_id, "--reason", "too broad", "--by", "bob")[0] == 0
    before = state(db)
    for args, needles in _bad(PROMPT.proposal_id, TOOL.proposal_id):
        code, out, err = run(capsys, "proposals", *args)
        assert (code, out) == (2, ""), (args, out, err)
        assert err.startswith("meta-agent: ") and err.count("\n") == 1, err
        assert all(n in err for n in needles), (args, err)
        assert state(db) == before, args


def test_an_unknown_subcommand_or_missing_id_is_a_usage_error(db, capsys):
    assert run(capsys, "proposals", "promote", PROMPT.proposal_id)[0] == 2
    assert run(capsys, "proposals", "approve")[0] == 2
