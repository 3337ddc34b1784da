"""Auto-approval rules: the shipped file parses; every mistake in a rules file is one sentence
naming the file, line, field and fix; ``match`` says why each rule did or did not match;
``auto_approve`` moves only what a rule allows (never high risk, never what a person decided
first) with the rule as actor; ``rates`` measures the share of low-risk proposals approved
by rules and of high-risk ones left to a person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from meta_agent.errors import InputError
from meta_agent.improvement import approvals, workflow
from meta_agent.improvement.approvals import ApprovalRules, Rule
from meta_agent.improvement.model import Proposal

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
DAY = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)

GOOD = """\
version: 1
expire_after_days: 14
never_auto:
  risk: [high]
  kinds: [sla_change]
rules:
  - name: low-risk-reverts
    risk: [low]
    kinds: [prompt_rollback, tool_change, config_change]
    min_confidence: 0.6
    max_traffic_share: 0.25
    max_agents: 1
"""
RULE_FIELDS = "name, description, risk, kinds, min_confidence, max_traffic_share, max_agents"
KINDS = "prompt_change, prompt_rollback, tool_change, config_change, sla_change"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "approvals.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edit(line: int, new: str | None) -> str:
    """GOOD with line ``line`` (1-based) replaced by ``new`` (None: removed)."""
    lines = GOOD.splitlines()
    if new is None:
        del lines[line - 1]
    else:
        lines[line - 1] = new
    return "\n".join(lines) + "\n"


def row(kind="tool_change", risk="low", confidence=0.8, share=0.1, agents=("a",), **kw) -> dict:
    return {"proposal_id": kw.pop("proposal_id", f"prop-{kind}-{risk}-{confidence}"), "kind": kind, "risk": risk,
            "confidence": confidence, "agent_id": agents[0] if len(agents) == 1 else None, "agents": list(agents),
            "blast_radius": {"traffic_share": share, "agents": list(agents)}, **kw}


# ------------------------------------------------------------------------------ the file


def test_the_shipped_rules_parse_and_send_every_high_risk_proposal_to_a_person():
    rules = approvals.load_rules(REPO_CONFIG / "approvals.yaml")
    assert rules.names == ["low-risk-reverts", "low-risk-prompt-candidates"]
    assert "high" in rules.never_risks and "sla_change" in rules.never_kinds
    assert rules.expire_after_days == 14 and rules.expiry == timedelta(days=14)
    assert all("high" not in r.risks for r in rules.rules)
    first = rules.rules[0]
    assert (first.risks, first.kinds, first.min_confidence, first.max_traffic_share, first.max_agents) == (
        ("low",), ("prompt_rollback", "tool_change", "config_change"), 0.6, 0.25, 1)
    assert first.line == 34 and first.description.startswith("Undo or harden")


def test_a_minimal_file_parses(tmp_path):
    rules = approvals.load_rules(write(tmp_path, "rules:\n  - name: r\n    risk: low\n    kinds: tool_change\n"
                                                 "    min_confidence: 0\n"))
    assert rules.rules == (Rule("r", ("low",), ("tool_change",), 0.0, None, None, "", 2),)
    assert (rules.never_risks, rules.never_kinds, rules.expire_after_days) == (("high",), ("sla_change",), 14)
    assert approvals.load_rules(write(tmp_path, "rules: []\n")).rules == ()


BAD = [
    (edit(10, "    min_confidence: 1.5"),
     "10: rules[0].min_confidence: must be a number from 0 to 1 (got '1.5'); set the least confidence a proposal "
     "needs, e.g. 0.6."),
    (edit(10, "    min_confidence: high"),
     "10: rules[0].min_confidence: must be a number from 0 to 1 (got 'high'); set the least confidence a proposal "
     "needs, e.g. 0.6."),
    (edit(10, "    min_confidnce: 0.6"),
     f"10: rules[0].min_confidnce: unknown field; did you mean 'min_confidence'? use {RULE_FIELDS}."),
    (edit(8, "    risk: [critical]"),
     "8: rules[0].risk[0]: 'critical' is not a risk level; use one of low, medium, high."),
    (edit(9, "    kinds: [prompt_chang]"),
     f"9: rules[0].kinds[0]: 'prompt_chang' is not a proposal kind; did you mean 'prompt_change'? use one of "
     f"{KINDS}."),
    (edit(9, "    kinds: []"),
     f"9: rules[0].kinds: is empty, so the rule could never match; list at least one of {KINDS}."),
    (edit(8, "    risk: {low: 1}"),
     "8: rules[0].risk: expected a list of risk levels (from low, medium, high)."),
    (edit(8, "    risk: [low, high]"),
     "8: rules[0].risk: high is never auto-approved (never_auto.risk), so this rule could not approve it; "
     "remove it."),
    (edit(9, "    kinds: [tool_change, sla_change]"),
     "9: rules[0].kinds: sla_change is never auto-approved (never_auto.kinds), so this rule could not approve it; "
     "remove it."),
    (edit(4, "  risk: [medium]"),
     "4: never_auto.risk: must include high: every high-risk proposal goes to a person; add high."),
    (edit(4, "  risks: [high]"),
     "4: never_auto.risks: unknown field; did you mean 'risk'? use risk, kinds."),
    (edit(12, "    max_agents: 0"),
     "12: rules[0].max_agents: must be a whole number ≥ 1 (got '0'); set how many agents the change may touch, "
     "e.g. 1 (or null for no limit)."),
    (edit(11, "    max_traffic_share: -0.1"),
     "11: rules[0].max_traffic_share: must be a number from 0 to 1 (got '-0.1'); set the largest share of the "
     "fleet's executions the change may touch, e.g. 0.25 (or null for no limit)."),
    (edit(2, "expire_after_days: two weeks"),
     "2: expire_after_days: must be a whole number of days from 1 to 365 (got 'two weeks'); set how long a "
     "proposal waits for a decision, e.g. 14."),
    (edit(6, "rule:"),
     "6: rule: unknown top-level key; did you mean 'rules'? use version, expire_after_days, never_auto, rules."),
    (edit(1, "version: 2"), "1: version: unsupported version '2'; this release reads version 1."),
    (edit(10, None),
     "7: rules[0].min_confidence: required field is missing; every rule needs name, risk, kinds, min_confidence."),
    (edit(7, "  - name: low risk"),
     "7: rules[0].name: must be 1-100 characters without spaces (got 'low risk'); it becomes the actor "
     "'auto:<name>' in the audit trail."),
    (GOOD + "  - name: low-risk-reverts\n    risk: [medium]\n    kinds: [tool_change]\n    min_confidence: 0.9\n",
     "13: rules[1].name: 'low-risk-reverts' is already rules[0]; names must be unique."),
    ("version: 1\nrules: yes\n",
     "2: rules: expected a list of rules (name, risk, kinds, min_confidence, …), or [] for none."),
    ("version: 1\nexpire_after_days: 3\n",
     "1: rules: missing; list the auto-approval rules (name, risk, kinds, min_confidence, …), or write `rules: []` "
     "to send every proposal to a person."),
    ("- just\n- a list\n",
     "1: the file: expected a mapping with 'version', 'expire_after_days', 'never_auto' and 'rules'."),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m.split(":")[1].strip() + "@" + m.split(":")[0] for _, m in BAD])
def test_every_mistake_names_the_file_line_field_and_fix(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        approvals.load_rules(path)
    assert str(err.value) == f"{path}:{message}"


def test_unreadable_files_say_what_to_do(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as err:
        approvals.load_rules(missing)
    assert str(err.value) == (f"{missing}: no such file; auto-approval needs its rules — copy config/approvals.yaml "
                              "(or write `rules: []` to send every proposal to a person).")
    with pytest.raises(InputError) as err:
        approvals.load_rules(write(tmp_path, ""))
    assert "is empty; it needs 'rules:'" in str(err.value)
    path = write(tmp_path, "rules:\n  - name: [unclosed\n")
    with pytest.raises(InputError) as err:
        approvals.load_rules(path)
    assert str(err.value).startswith(f"{path}:3: not valid YAML (")


# ------------------------------------------------------------------------------ match


RULES = ApprovalRules((Rule("reverts", ("low",), ("tool_change", "config_change"), 0.6, 0.25, 1),
                       Rule("prompts", ("low", "medium"), ("prompt_change",), 0.7)), path="approvals.yaml")


def test_the_first_rule_that_holds_approves_with_every_condition_spelled_out():
    v = approvals.match(RULES, row())
    assert v.approved and v.rule == "reverts"
    assert v.reasons == ["rule reverts: risk low in [low], kind tool_change in [tool_change, config_change], "
                         "confidence 0.8 ≥ 0.6, traffic share 0.1 ≤ 0.25, 1 agent ≤ 1"]
    assert approvals.match(RULES, row("prompt_change", "medium", 0.7, share=0.9, agents=("a", "b"))).rule == "prompts"


def test_a_proposal_no_rule_allows_gets_each_rules_reasons():
    v = approvals.match(RULES, row("tool_change", "low", 0.5, share=0.4, agents=("a", "b")))
    assert v.rule is None and not v.approved
    assert v.reasons == ["reverts: confidence 0.5 < 0.6; traffic share 0.4 > 0.25; 2 agents > 1",
                         "prompts: kind tool_change not in [prompt_change]; confidence 0.5 < 0.7"]
    unknown = approvals.match(RULES, row(share=None))
    assert unknown.reasons[0] == "reverts: traffic share unknown (blast_radius.traffic_share is missing)"


def test_guards_stop_a_proposal_before_any_rule():
    assert approvals.match(RULES, row(risk="high", confidence=1.0)).reasons == [
        "risk high: never auto-approved (never_auto.risk); a person decides"]
    lax = ApprovalRules((Rule("all", ("low", "medium", "high"), ("tool_change",), 0.0),), never_risks=())
    assert approvals.match(lax, row(risk="high")).rule is None  # whatever a file says
    assert approvals.match(RULES, row(kind="sla_change")).reasons == [
        "kind sla_change: never auto-approved (never_auto.kinds); a person decides"]
    assert approvals.match(ApprovalRules(path="x.yaml"), row()).reasons == [
        "no auto-approval rules (x.yaml); a person decides"]


# ------------------------------------------------------------------------------ rates


def test_rates_measure_the_low_risk_auto_share_and_the_high_risk_routing():
    low = ([row(confidence=0.9, proposal_id=f"ok{i}") for i in range(9)]
           + [row(confidence=0.3, proposal_id="weak")])
    high = [row(risk="high", confidence=0.99, proposal_id=f"h{i}") for i in range(3)]
    medium = [row("prompt_change", "medium", 0.9, proposal_id="m")]
    r = approvals.rates(low + high + medium, RULES)
    assert (r["proposals"], r["low_risk_proposals"], r["low_risk_auto_approved"], r["low_risk_auto_rate"]) == (
        14, 10, 9, 0.9)
    assert (r["high_risk_proposals"], r["high_risk_to_a_person"], r["high_risk_to_a_person_share"]) == (3, 3, 1.0)
    assert r["by_risk"]["medium"] == {"proposals": 1, "auto_approved": 1, "to_a_person": 0}
    assert r["by_rule"] == {"reverts": 9, "prompts": 1}
    assert r["low_risk_stopped_by"] == {"reverts: confidence": 1}
    assert r["on_target"] == {"low_risk": True, "high_risk": True}
    assert r["target"] == {"low_risk_auto_rate": [0.85, 0.95], "high_risk_to_a_person_share": 1.0}
    assert "observed_auto_approved" not in r


def test_rates_off_target_and_empty():
    r = approvals.rates([row(kind="prompt_rollback"), row()], RULES)
    assert r["low_risk_auto_rate"] == 0.5 and r["on_target"]["low_risk"] is False
    assert r["low_risk_stopped_by"] == {"no rule for low-risk prompt_rollback": 1}
    empty = approvals.rates([], RULES)
    assert (empty["low_risk_auto_rate"], empty["high_risk_to_a_person_share"]) == (None, None)
    assert empty["on_target"] == {"low_risk": None, "high_risk": None}


# ------------------------------------------------------------------------------ auto_approve, in the database


def proposal(kind="tool_change", risk="low", confidence=0.8, share=0.1, agent="support-triage") -> Proposal:
    change = {"tool_change": {"tool": "crm", "action": "pin", "from_version": "2", "to_version": "1"},
              "config_change": {"setting": "retry_budget", "from": 0, "to": 2},
              "prompt_change": {"prompt": "system", "base_version": "v1", "text": "t", "edits": []},
              "prompt_rollback": {"prompt": "system", "label": "production", "from_version": "v2",
                                  "to_version": "v1"},
              "sla_change": {"metric": "max_latency_p95_ms", "from": 1, "to": 2}}[kind]
    return Proposal(kind=kind, agent_id=agent, agents=[agent], category="tool", title=f"{kind} {risk}", summary="s",
                    change=change, expected={"metric": "success_rate", "effect": 0.1, "ci_low": 0.0, "ci_high": 0.2},
                    risk=risk, confidence=confidence, blast_radius={"traffic_share": share, "agents": [agent]},
                    rollback_plan="undo", priority=confidence, evidence={"finding_ids": ["f"]})


def test_auto_approve_moves_only_what_a_rule_allows(engine):
    rules = approvals.load_rules(REPO_CONFIG / "approvals.yaml")
    ok = proposal()
    weak = proposal("prompt_change", confidence=0.5)
    high = proposal("prompt_rollback", risk="high", confidence=0.99)
    sla = proposal("sla_change", confidence=0.99)
    decided = proposal("config_change", agent="invoice-extractor")
    late = proposal("tool_change", agent="invoice-extractor")
    with engine.begin() as conn:
        workflow.upsert(conn, [ok, weak, high, sla, decided], day=DAY, now=NOW)
        workflow.upsert(conn, [late], day=DAY - timedelta(days=20), now=NOW - timedelta(days=20))
        workflow.decide(conn, decided.proposal_id, "reject", reviewer="alice", reason="not now", now=NOW)
    with engine.begin() as conn:
        done = approvals.auto_approve(conn, rules, now=NOW + timedelta(hours=1))
    assert [d.proposal_id for d in done] == [ok.proposal_id]
    [d] = done
    assert (d.from_state, d.to_state, d.reviewer) == ("proposed", "approved", "auto:low-risk-reverts")
    assert d.reason == approvals.match(rules, ok.to_row(DAY)).reasons[0]
    with engine.connect() as conn:
        got = workflow.get(conn, ok.proposal_id)
        states = {r["proposal_id"]: r["state"] for r in workflow.list_proposals(conn)}
        rows = workflow.list_proposals(conn)
    assert got["events"][-1]["details"]["rule"] == "low-risk-reverts"
    assert states == {ok.proposal_id: "approved", weak.proposal_id: "proposed", high.proposal_id: "proposed",
                      sla.proposal_id: "proposed", decided.proposal_id: "rejected", late.proposal_id: "proposed"}
    with engine.begin() as conn:
        assert approvals.auto_approve(conn, rules, now=NOW + timedelta(hours=2)) == []
    r = approvals.rates(rows, rules)
    assert r["observed_auto_approved"] == {"low": 1, "medium": 0, "high": 0}
    assert r["observed_high_risk_auto_approved"] == 0 and r["high_risk_to_a_person_share"] == 1.0
