"""The approval workflow on SQLite and PostgreSQL: the transition table, the audit trail,
upsert (merge, reopen, no resurrection, one count per distinct day), ``decide`` with every bad
input refused by an exact sentence and nothing changed, two reviewers racing (one wins, the
other gets the wrong-state error), expiry, and applying against the real prompt registry
(candidate, promotion to production, rollback)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.improvement import prompts, workflow
from meta_agent.improvement.model import Proposal
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_improvement import (
    PROPOSAL_STATES,
    improvement_proposals,
    prompt_label_events,
    prompt_labels,
    prompt_versions,
    proposal_events,
)

DAY = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
AGENT = "support-triage"
V1 = "You are a support agent. Answer {question} briefly."
V2 = "You are a support agent. Answer {question} briefly. Always reply in JSON with keys answer, sources."


def proposal(kind: str = "tool_change", *, agent: str = AGENT, risk: str = "low", confidence: float = 0.8,
             finding: str = "f-1", **kw) -> Proposal:
    change = {
        "tool_change": {"tool": "crm_lookup", "action": "pin", "from_version": "2.0.0", "to_version": "1.4.2"},
        "config_change": {"setting": "fallback_model", "from": None, "to": "gpt-4o-mini", "model": "gpt-4o"},
        "sla_change": {"metric": "max_latency_p95_ms", "from": 7000, "to": 9000},
        "prompt_change": {"prompt": "system", "base_version": "v1", "text": V2,
                          "edits": [{"rule": "output_format", "why": "replies miss the JSON format"}]},
        "prompt_rollback": {"prompt": "system", "label": "production", "from_version": "v2", "to_version": "v1"},
    }[kind]
    fields = dict(kind=kind, agent_id=agent, agents=[agent], category="tool", title=f"{kind} for {agent}",
                  summary="the evidence says so", change=change,
                  expected={"metric": "success_rate", "unit": "ratio", "current": 0.8, "expected": 0.9,
                            "effect": 0.1, "ci_low": 0.05, "ci_high": 0.15, "confidence_level": 0.95,
                            "method": "two-proportion z-test"},
                  risk=risk, confidence=confidence,
                  blast_radius={"traffic_share": 0.1, "agents": [agent], "executions_per_day": 120},
                  rollback_plan="undo it", priority=1.0,
                  evidence={"finding_ids": [finding], "execution_ids": ["e-1"], "cluster_key": None},
                  diff="--- a\n+++ b\n" if kind == "prompt_change" else None)
    fields.update(kw)
    return Proposal(**fields)


def add(engine, *items: Proposal, day: date = DAY, now: datetime = NOW) -> workflow.UpsertReport:
    with engine.begin() as conn:
        return workflow.upsert(conn, list(items), day=day, now=now)


def row(engine, pid: str) -> dict:
    with engine.connect() as conn:
        return workflow.get(conn, pid)


def n_events(engine, pid: str | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(proposal_events)
    if pid:
        q = q.where(proposal_events.c.proposal_id == pid)
    with engine.connect() as conn:
        return conn.execute(q).scalar_one()


def decide(engine, pid, decision="approve", reviewer="alice", reason="the evidence is clear", now=NOW):
    with engine.begin() as conn:
        return workflow.decide(conn, pid, decision, reviewer=reviewer, reason=reason, now=now)


# ------------------------------------------------------------------------------ the table


def test_the_transition_table_is_the_documented_one():
    lines = workflow.__doc__.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("=====")]
    assert len(rules) == 3  # top, under the header, bottom
    documented: dict[str, set[str]] = {}
    for line in lines[rules[1] + 1:rules[2]]:
        src, to = line[:15].strip(), line[15:47].strip()
        if src != "(new)":
            documented.setdefault(src, set()).update(t.strip() for t in to.split(","))
    assert set(workflow.TRANSITIONS) == set(PROPOSAL_STATES)
    assert documented == {k: set(v) for k, v in workflow.TRANSITIONS.items() if v}
    assert workflow.TRANSITIONS["rejected"] == workflow.TRANSITIONS["rolled_back"] == frozenset()


# ------------------------------------------------------------------------------ upsert


def test_a_new_proposal_is_inserted_with_its_creation_event(engine):
    p = proposal()
    report = add(engine, p)
    assert report.created == [p.proposal_id] and not (report.merged or report.reopened or report.unchanged)
    r = row(engine, p.proposal_id)
    assert (r["state"], r["occurrences"], r["first_seen_day"], r["last_seen_day"]) == ("proposed", 1, DAY, DAY)
    assert r["dedup_key"] == p.dedup_key and r["expires_at"] == NOW + timedelta(days=14)
    assert r["evidence"]["finding_ids"] == ["f-1"] and r["evidence"]["seen_days"] == ["2026-03-12"]
    [ev] = r["events"]
    assert (ev["from_state"], ev["to_state"], ev["actor"], ev["at"]) == (None, "proposed", "generator", NOW)
    assert ev["reason"] == "generated on 2026-03-12 from rules" and ev["details"]["finding_ids"] == ["f-1"]


def test_the_same_day_again_changes_nothing(engine):
    p = proposal()
    add(engine, p)
    before = row(engine, p.proposal_id)
    report = add(engine, p, now=NOW + timedelta(hours=3))
    assert report.unchanged == [p.proposal_id] and not report.merged
    assert row(engine, p.proposal_id) == before  # occurrences 1, updated_at, evidence: untouched
    assert n_events(engine) == 1


def test_a_duplicate_on_a_new_day_is_merged_and_a_proposed_row_refreshed(engine):
    p = proposal()
    add(engine, p)
    again = proposal(finding="f-2", confidence=0.9, priority=2.5, summary="seen again, worse",
                     expected={**p.expected, "effect": 0.12})
    assert again.proposal_id == p.proposal_id
    report = add(engine, again, day=DAY + timedelta(days=1), now=NOW + timedelta(days=1))
    assert report.merged == [p.proposal_id]
    r = row(engine, p.proposal_id)
    assert (r["occurrences"], r["first_seen_day"], r["last_seen_day"]) == (2, DAY, DAY + timedelta(days=1))
    assert r["evidence"]["finding_ids"] == ["f-1", "f-2"]
    assert r["evidence"]["seen_days"] == ["2026-03-12", "2026-03-13"]
    assert (r["confidence"], r["priority"], r["summary"], r["expected"]["effect"]) == (0.9, 2.5, "seen again, worse",
                                                                                        0.12)
    assert r["expires_at"] == NOW + timedelta(days=14)  # a merge does not postpone the decision
    assert n_events(engine) == 1  # a merge is no state change


def test_days_are_counted_once_each_in_any_order(engine):
    p = proposal()
    for d in (DAY, DAY - timedelta(days=2), DAY, DAY - timedelta(days=2), DAY - timedelta(days=1)):
        add(engine, p, day=d)
    r = row(engine, p.proposal_id)
    assert (r["occurrences"], r["first_seen_day"], r["last_seen_day"]) == (3, DAY - timedelta(days=2), DAY)


def test_an_approved_row_counts_the_duplicate_but_keeps_what_was_approved(engine):
    p = proposal()
    add(engine, p)
    decide(engine, p.proposal_id)
    report = add(engine, proposal(confidence=0.3, finding="f-9"), day=DAY + timedelta(days=1))
    assert report.merged == [p.proposal_id]
    r = row(engine, p.proposal_id)
    assert (r["state"], r["occurrences"], r["confidence"], r["evidence"]["finding_ids"]) == ("approved", 2, 0.8,
                                                                                            ["f-1"])


def test_an_expired_proposal_generated_again_is_reopened(engine):
    p = proposal()
    add(engine, p)
    with engine.begin() as conn:
        assert workflow.expire(conn, NOW + timedelta(days=15)) == [p.proposal_id]
    later = NOW + timedelta(days=20)
    report = add(engine, proposal(finding="f-3"), day=DAY + timedelta(days=20), now=later)
    assert report.reopened == [p.proposal_id]
    r = row(engine, p.proposal_id)
    assert (r["state"], r["occurrences"], r["expires_at"]) == ("proposed", 2, later + timedelta(days=14))
    assert r["evidence"]["finding_ids"] == ["f-1", "f-3"]
    assert [(e["from_state"], e["to_state"], e["actor"]) for e in r["events"]] == [
        (None, "proposed", "generator"), ("proposed", "expired", "expiry"), ("expired", "proposed", "generator")]
    assert r["events"][-1]["reason"] == "generated again on 2026-04-01: reopened"


def _close(engine, pid: str, state: str) -> None:
    if state == "rejected":
        decide(engine, pid, "reject")
        return
    decide(engine, pid)
    with engine.begin() as conn:
        workflow.apply(conn, pid, actor="alice", reason="made the change", promote=True, now=NOW)
        if state == "rolled_back":
            workflow.rollback(conn, pid, actor="alice", reason="made things worse", now=NOW)


@pytest.mark.parametrize("state", ["rejected", "adopted", "rolled_back"])
def test_a_closed_proposal_is_counted_but_never_resurrected(engine, state):
    p = proposal()
    add(engine, p)
    _close(engine, p.proposal_id, state)
    events_before = n_events(engine, p.proposal_id)
    report = add(engine, proposal(confidence=0.99, finding="f-4"), day=DAY + timedelta(days=3))
    assert report.unchanged == [p.proposal_id]
    r = row(engine, p.proposal_id)
    assert (r["state"], r["occurrences"], r["last_seen_day"]) == (state, 2, DAY + timedelta(days=3))
    assert r["confidence"] == 0.8 and r["evidence"]["finding_ids"] == ["f-1"]
    assert n_events(engine, p.proposal_id) == events_before


def test_one_batch_with_a_duplicate_lists_the_id_once(engine):
    p = proposal()
    report = add(engine, p, proposal(finding="f-2"), proposal(kind="config_change"))
    assert report.created == [p.proposal_id, proposal(kind="config_change").proposal_id]
    assert row(engine, p.proposal_id)["evidence"]["finding_ids"] == ["f-1", "f-2"]


# ------------------------------------------------------------------------------ decide


@pytest.mark.parametrize("decision, to_state", [("approve", "approved"), ("REJECT ", "rejected"),
                                                ("Approve", "approved")])
def test_decide_moves_the_state_and_writes_who_when_why(engine, decision, to_state):
    p = proposal()
    add(engine, p)
    at = NOW + timedelta(hours=1)
    d = decide(engine, p.proposal_id, decision, reviewer=" alice ", reason=" looks right ", now=at)
    assert d == workflow.Decision(p.proposal_id, "proposed", to_state, "alice", "looks right", at)
    with pytest.raises(AttributeError):
        d.to_state = "x"  # frozen
    r = row(engine, p.proposal_id)
    assert r["state"] == to_state and r["updated_at"] == at
    last = r["events"][-1]
    assert (last["from_state"], last["to_state"], last["actor"], last["reason"], last["at"]) == (
        "proposed", to_state, "alice", "looks right", at)


def _bad_cases(pid: str) -> list[tuple[dict, str]]:
    return [
        ({"decision": "maybe"}, "decision 'maybe' is not one of approve, reject; use approve (proposed → approved) or "
                                "reject (proposed → rejected). Nothing was changed."),
        ({"decision": " "}, "decision is missing; use approve (proposed → approved) or reject (proposed → rejected). "
                            "Nothing was changed."),
        ({"reviewer": ""}, "reviewer is empty; give the name of the person deciding (--by on the CLI, reviewer in "
                           "the Launchpad config). Nothing was changed."),
        ({"reviewer": None}, "reviewer is missing; give the name of the person deciding (--by on the CLI, reviewer "
                             "in the Launchpad config). Nothing was changed."),
        ({"reason": None}, "reason is missing; say why you approve it (--reason on the CLI, reason in the Launchpad "
                           "config). Nothing was changed."),
        ({"reason": "   ", "decision": "reject"}, "reason is empty; say why you reject it (--reason on the CLI, "
                                                  "reason in the Launchpad config). Nothing was changed."),
        ({"pid": pid[:-1] + ("0" if pid[-1] != "0" else "1")},
         f"there is no proposal '{pid[:-1] + ('0' if pid[-1] != '0' else '1')}'; did you mean {pid}? "
         "`meta-agent proposals list` shows the ids. Nothing was changed."),
        ({"pid": "nothing-like-it"}, "there is no proposal 'nothing-like-it'. `meta-agent proposals list` shows the "
                                     "ids. Nothing was changed."),
        ({"pid": ""}, "proposal id is empty; give one (`meta-agent proposals list` shows the ids). Nothing was "
                      "changed."),
    ]


def test_every_bad_decision_is_refused_with_its_sentence_and_nothing_changes(engine):
    p = proposal()
    add(engine, p)
    pid = p.proposal_id
    before, events_before = row(engine, pid), n_events(engine)
    for change, message in _bad_cases(pid):
        args = {"pid": pid, "decision": "approve", "reviewer": "alice", "reason": "fine", **change}
        with pytest.raises(InputError) as err:
            decide(engine, args["pid"], args["decision"], args["reviewer"], args["reason"])
        assert str(err.value) == message
        assert row(engine, pid) == before and n_events(engine) == events_before


def test_deciding_a_decided_proposal_names_its_state_and_what_is_allowed(engine):
    p = proposal()
    add(engine, p)
    pid = p.proposal_id
    decide(engine, pid, "reject", reviewer="bob", reason="too broad")
    before = row(engine, pid)
    with pytest.raises(InputError) as err:
        decide(engine, pid, "approve")
    assert str(err.value) == (f"cannot approve proposal {pid}: it is rejected (by bob at 2026-03-12 09:00 UTC: "
                              "\"too broad\"); only a proposed proposal can be approved or rejected, and rejected is "
                              "final. Nothing was changed.")
    with pytest.raises(InputError) as err:
        decide(engine, pid, "reject")
    assert str(err.value).startswith(f"cannot reject proposal {pid}: it is already rejected (by bob")
    assert row(engine, pid) == before

    q = proposal(kind="config_change")
    add(engine, q)
    decide(engine, q.proposal_id, reviewer="carol", reason="yes")
    with pytest.raises(InputError) as err:
        decide(engine, q.proposal_id, "reject")
    assert str(err.value) == (f"cannot reject proposal {q.proposal_id}: it is approved (by carol at 2026-03-12 "
                              "09:00 UTC: \"yes\"); only a proposed proposal can be approved or rejected, and from "
                              "approved it can only become adopted, experimenting or expired. Nothing was changed.")


def test_transition_refuses_a_move_the_table_does_not_allow(engine):
    p = proposal()
    add(engine, p)
    before = row(engine, p.proposal_id)
    with engine.begin() as conn, pytest.raises(InputError) as err:
        workflow.transition(conn, p.proposal_id, "adopted", actor="x", reason="y", now=NOW)
    assert str(err.value) == (f"proposal {p.proposal_id} is proposed (by generator at 2026-03-12 09:00 UTC: "
                              "\"generated on 2026-03-12 from rules\"); it cannot become adopted: from proposed it "
                              "can only become approved, expired or rejected. Nothing was changed.")
    with engine.begin() as conn, pytest.raises(InputError) as err:
        workflow.transition(conn, p.proposal_id, "shipped", actor="x", reason="y", now=NOW)
    assert str(err.value).startswith("to_state 'shipped' is not one of proposed, approved, rejected,")
    assert row(engine, p.proposal_id) == before
    with engine.begin() as conn:
        d = workflow.transition(conn, p.proposal_id, "approved", actor="auto:test", reason="a rule",
                                details={"rule": "test"}, now=NOW)
        moved = workflow.transition(conn, p.proposal_id, "experimenting", actor="experiments", reason="exp-1",
                                    now=NOW + timedelta(minutes=1))
    assert (d.from_state, d.to_state, moved.to_state) == ("proposed", "approved", "experimenting")
    assert row(engine, p.proposal_id)["events"][1]["details"] == {"rule": "test"}


def test_try_transition_yields_to_whoever_moved_it_first(engine):
    p = proposal()
    add(engine, p)
    decide(engine, p.proposal_id, "reject")
    with engine.begin() as conn:
        assert workflow.try_transition(conn, p.proposal_id, "proposed", "approved", actor="auto:r",
                                       reason="rule", now=NOW) is None
        assert workflow.try_transition(conn, "prop-none", "proposed", "approved", actor="auto:r", reason="rule") is None
    assert row(engine, p.proposal_id)["state"] == "rejected" and n_events(engine) == 2


# ------------------------------------------------------------------------------ races


def test_two_reviewers_racing_one_wins_the_other_gets_the_wrong_state(migrated_url):
    """Reviewer A decides inside an open transaction; B's decision waits for A's row (PostgreSQL:
    FOR UPDATE; SQLite: the write lock), then finds it approved and is refused."""
    engine = engine_for(migrated_url)
    p = proposal()
    add(engine, p)
    a = engine.connect()
    tx = a.begin()
    workflow.decide(a, p.proposal_id, "approve", reviewer="alice", reason="ship it", now=NOW)
    out: dict = {}

    def bob() -> None:
        try:
            with engine.begin() as conn:
                out["decision"] = workflow.decide(conn, p.proposal_id, "reject", reviewer="bob", reason="no")
        except InputError as exc:
            out["error"] = str(exc)

    t = threading.Thread(target=bob)
    t.start()
    t.join(0.7)
    assert t.is_alive(), "bob did not wait for alice's uncommitted decision"
    tx.commit()
    a.close()
    t.join(30)
    assert "decision" not in out
    assert out["error"].startswith(f"cannot reject proposal {p.proposal_id}: it is approved (by alice at ")
    r = row(engine, p.proposal_id)
    assert r["state"] == "approved" and [e["actor"] for e in r["events"]] == ["generator", "alice"]


def test_many_reviewers_at_once_exactly_one_decision_stands(migrated_url):
    engine = engine_for(migrated_url)
    p = proposal()
    add(engine, p)
    n = 6
    barrier = threading.Barrier(n)
    wins, errors = [], []

    def review(i: int) -> None:
        barrier.wait()
        try:
            with engine.begin() as conn:
                wins.append(workflow.decide(conn, p.proposal_id, "approve" if i % 2 else "reject",
                                            reviewer=f"r{i}", reason="race"))
        except InputError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=review, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) == 1 and len(errors) == n - 1
    assert all(e.startswith("cannot ") and f"proposal {p.proposal_id}: it is " in e for e in errors)
    r = row(engine, p.proposal_id)
    assert r["state"] == wins[0].to_state and [e["actor"] for e in r["events"]] == ["generator", wins[0].reviewer]


# ------------------------------------------------------------------------------ expiry


def test_expire_moves_stale_proposed_and_unapplied_approved_rows(engine):
    stale, approved, applied, fresh = (proposal(kind=k) for k in
                                       ("tool_change", "config_change", "prompt_rollback", "sla_change"))
    add(engine, stale, approved, applied)
    add(engine, fresh, now=NOW + timedelta(days=5))
    decide(engine, approved.proposal_id)
    decide(engine, applied.proposal_id)
    with engine.begin() as conn:  # applied: a change request keeps it alive (it is not a prompt here)
        conn.execute(improvement_proposals.update().where(improvement_proposals.c.proposal_id == applied.proposal_id)
                     .values(applied={"action": "label_move"}))
    at = NOW + timedelta(days=14)
    with engine.begin() as conn:
        gone = workflow.expire(conn, at)
    assert sorted(gone) == sorted([stale.proposal_id, approved.proposal_id])
    assert row(engine, applied.proposal_id)["state"] == "approved"
    assert row(engine, fresh.proposal_id)["state"] == "proposed"
    last = row(engine, approved.proposal_id)["events"][-1]
    assert (last["from_state"], last["to_state"], last["actor"], last["reason"]) == (
        "approved", "expired", "expiry", "approved but never applied by 2026-03-26 09:00 UTC")
    assert row(engine, stale.proposal_id)["events"][-1]["reason"] == "not decided by 2026-03-26 09:00 UTC"
    with engine.begin() as conn:
        assert workflow.expire(conn, at) == []


# ------------------------------------------------------------------------------ reads


def test_list_filters_orders_by_priority_and_carries_the_trail(engine):
    add(engine, proposal(priority=1.0), proposal(kind="config_change", priority=3.0, risk="medium"),
        proposal(kind="sla_change", agent="invoice-extractor", priority=2.0),
        proposal(kind="prompt_rollback", agent=None, agents=["a1", AGENT], priority=0.5))
    with engine.connect() as conn:
        rows = workflow.list_proposals(conn)
        assert [r["priority"] for r in rows] == [3.0, 2.0, 1.0, 0.5]
        assert all(r["events"][0]["to_state"] == "proposed" for r in rows)
        assert [r["kind"] for r in workflow.list_proposals(conn, agent=AGENT)] == ["config_change", "tool_change",
                                                                                   "prompt_rollback"]
        assert [r["kind"] for r in workflow.list_proposals(conn, risk="medium")] == ["config_change"]
        assert len(workflow.list_proposals(conn, kind="sla_change", state="proposed")) == 1
        assert workflow.list_proposals(conn, state="approved") == []
        assert len(workflow.list_proposals(conn, limit=2)) == 2
        with pytest.raises(InputError) as err:
            workflow.list_proposals(conn, state="aproved")
        assert str(err.value) == ("state 'aproved' is not one of proposed, approved, rejected, experimenting, "
                                  "adopted, rolled_back, expired; did you mean 'approved'?")
        with pytest.raises(InputError, match="kind 'prompt' is not one of"):
            workflow.list_proposals(conn, kind="prompt")
        assert workflow.get(conn, "prop-none") is None
        assert workflow.events(conn, "prop-none") == []


# ------------------------------------------------------------------------------ apply, with the real registry


@pytest.fixture
def registry(engine):
    """support-triage/system: v1 in production."""
    with engine.begin() as conn:
        prompts.create_version(conn, AGENT, "system", V1, author="alice", now=NOW)
        prompts.move_label(conn, AGENT, "system", "production", "v1", actor="alice", reason="first", now=NOW)
    return engine


def _labels(engine) -> dict:
    with engine.connect() as conn:
        return {r.label: (r.version, r.previous_version) for r in conn.execute(sa.select(prompt_labels))}


def _registry_state(engine) -> tuple:
    with engine.connect() as conn:
        return (conn.execute(sa.select(prompt_versions.c.version).order_by(prompt_versions.c.seq)).scalars().all(),
                _labels(engine), conn.execute(sa.select(sa.func.count()).select_from(prompt_label_events)).scalar())


def test_a_prompt_change_becomes_the_candidate_then_production_then_rolls_back(registry):
    engine = registry
    p = proposal(kind="prompt_change")
    pid = p.proposal_id
    add(engine, p)
    decide(engine, pid)
    with engine.begin() as conn:
        a = workflow.apply(conn, pid, actor="alice", reason="try it", now=NOW + timedelta(hours=1))
    assert (a.from_state, a.to_state, a.promoted) == ("approved", "approved", False)
    assert a.applied["prompt_version"] == "v2" and a.applied["label"] == "candidate"
    assert a.applied["candidate"] == {"from": None, "to": "v2"} and "experiments" in a.applied["handoff"]
    assert _labels(engine) == {"production": ("v1", None), "candidate": ("v2", None)}
    with engine.connect() as conn:
        v2 = prompts.get_version(conn, AGENT, "system", "v2")
    assert (v2.text, v2.source, v2.proposal_id, v2.parent_version, v2.author) == (V2, "proposal", pid, "v1", "alice")
    r = row(engine, pid)
    assert r["state"] == "approved" and r["applied"] == a.applied
    assert (r["events"][-1]["from_state"], r["events"][-1]["to_state"], r["events"][-1]["reason"]) == (
        "approved", "approved", "try it")

    before = (row(engine, pid), _registry_state(engine))
    with engine.begin() as conn, pytest.raises(InputError) as err:
        workflow.apply(conn, pid, actor="alice", reason="again")
    assert str(err.value) == (f"proposal {pid} is already applied ({AGENT}/system v2 is the candidate, by alice at "
                              f"2026-03-12T10:00:00+00:00); promote it with `meta-agent proposals apply {pid} "
                              "--apply`, or leave the candidate to the experiment. Nothing was changed.")
    assert (row(engine, pid), _registry_state(engine)) == before

    with engine.begin() as conn:
        a = workflow.apply(conn, pid, actor="bob", reason="the experiment says yes", promote=True,
                           now=NOW + timedelta(days=2))
    assert (a.from_state, a.to_state, a.applied["production"]) == ("approved", "adopted", {"from": "v1", "to": "v2"})
    assert a.applied["promoted_at"] == (NOW + timedelta(days=2)).isoformat()
    assert _labels(engine)["production"] == ("v2", "v1")  # the previous version kept: rollback target

    with engine.begin() as conn:
        rb = workflow.rollback(conn, pid, actor="carol", reason="JSON replies broke a client",
                               now=NOW + timedelta(days=3))
    assert rb.to_state == "rolled_back" and rb.applied["rolled_back"]["from"] == "v2"
    assert _labels(engine)["production"][0] == "v1"
    assert [(e["from_state"], e["to_state"]) for e in row(engine, pid)["events"]] == [
        (None, "proposed"), ("proposed", "approved"), ("approved", "approved"), ("approved", "adopted"),
        ("adopted", "rolled_back")]


def test_promoting_straight_from_approved_creates_the_version_and_moves_both_labels(registry):
    p = proposal(kind="prompt_change")
    add(registry, p)
    decide(registry, p.proposal_id)
    with registry.begin() as conn:
        a = workflow.apply(conn, p.proposal_id, actor="alice", reason="urgent fix", promote=True, now=NOW)
    assert a.to_state == "adopted"
    assert _labels(registry) == {"production": ("v2", "v1"), "candidate": ("v2", None)}


def test_an_experimenting_proposal_is_promoted(registry):
    p = proposal(kind="prompt_change")
    add(registry, p)
    decide(registry, p.proposal_id)
    with registry.begin() as conn:
        workflow.apply(conn, p.proposal_id, actor="sensor", reason="candidate", now=NOW)
        workflow.transition(conn, p.proposal_id, "experimenting", actor="experiments", reason="exp started", now=NOW)
    with registry.begin() as conn, pytest.raises(InputError, match="only an approved proposal can be applied"):
        workflow.apply(conn, p.proposal_id, actor="alice", reason="no promote")
    with registry.begin() as conn:
        a = workflow.apply(conn, p.proposal_id, actor="experiments", reason="it won", promote=True, now=NOW)
    assert (a.from_state, a.to_state) == ("experimenting", "adopted") and _labels(registry)["production"][0] == "v2"


def test_a_prompt_rollback_moves_the_candidate_then_production_back(registry):
    with registry.begin() as conn:
        prompts.create_version(conn, AGENT, "system", V2, author="dev", now=NOW)
        prompts.move_label(conn, AGENT, "system", "production", "v2", actor="dev", reason="new format", now=NOW)
    p = proposal(kind="prompt_rollback")
    add(registry, p)
    decide(registry, p.proposal_id)
    with registry.begin() as conn:
        a = workflow.apply(conn, p.proposal_id, actor="alice", reason="v2 broke the format", now=NOW)
    assert a.applied["action"] == "label_move" and _labels(registry)["candidate"] == ("v1", None)
    assert _labels(registry)["production"][0] == "v2"
    with registry.begin() as conn:
        workflow.apply(conn, p.proposal_id, actor="alice", reason="confirmed", promote=True, now=NOW)
    assert _labels(registry)["production"] == ("v1", "v2")


@pytest.mark.parametrize("state", ["proposed", "rejected"])
def test_apply_refuses_what_is_not_approved_and_writes_nothing(registry, state):
    p = proposal(kind="prompt_change")
    add(registry, p)
    if state == "rejected":
        decide(registry, p.proposal_id, "reject", reviewer="bob", reason="no")
    before = (row(registry, p.proposal_id), _registry_state(registry))
    with registry.begin() as conn, pytest.raises(InputError) as err:
        workflow.apply(conn, p.proposal_id, actor="alice", reason="go", promote=True)
    assert str(err.value).startswith(f"cannot apply proposal {p.proposal_id}: it is {state} (by ")
    assert str(err.value).endswith("only an approved proposal can be applied (or an experimenting one, promoted). "
                                   "Nothing was changed.")
    assert (row(registry, p.proposal_id), _registry_state(registry)) == before


def test_a_stale_prompt_change_is_refused_before_anything_is_written(registry):
    p = proposal(kind="prompt_change")
    add(registry, p)
    decide(registry, p.proposal_id)
    with registry.begin() as conn:
        prompts.create_version(conn, AGENT, "system", V1 + " Be kind.", author="dev", now=NOW)
        prompts.move_label(conn, AGENT, "system", "production", "v2", actor="dev", reason="tone", now=NOW)
    before = (row(registry, p.proposal_id), _registry_state(registry))
    with registry.begin() as conn, pytest.raises(InputError) as err:
        workflow.apply(conn, p.proposal_id, actor="alice", reason="go")
    assert str(err.value) == (f"proposal {p.proposal_id} was made against {AGENT}/system v1, but production now points "
                              "at v2; the change is stale — reject it and let the next proposals run propose against "
                              "the current version. Nothing was changed.")
    assert (row(registry, p.proposal_id), _registry_state(registry)) == before


def test_a_prompt_change_against_a_version_the_registry_lacks_is_refused(engine):
    p = proposal(kind="prompt_change")
    add(engine, p)
    decide(engine, p.proposal_id)
    before = (row(engine, p.proposal_id), _registry_state(engine))
    with engine.begin() as conn, pytest.raises(InputError) as err:
        workflow.apply(conn, p.proposal_id, actor="alice", reason="go")
    assert str(err.value) == (f"proposal {p.proposal_id} changes {AGENT}/system v1, which the prompt registry does not "
                              f"have; register it (`meta-agent prompts add {AGENT} system --file PATH`) or reject the "
                              "proposal. Nothing was changed.")
    q = proposal(kind="prompt_rollback")
    add(engine, q)
    decide(engine, q.proposal_id)
    with engine.begin() as conn, pytest.raises(InputError) as err:
        workflow.apply(conn, q.proposal_id, actor="alice", reason="go")
    assert str(err.value) == (f"proposal {q.proposal_id} rolls {AGENT}/system back to v1, which the prompt registry "
                              "does not have; register it (`meta-agent prompts add`) or reject the proposal. Nothing "
                              "was changed.")
    assert (row(engine, p.proposal_id), _registry_state(engine)) == before


def test_rollback_refuses_when_production_moved_since(registry):
    p = proposal(kind="prompt_change")
    add(registry, p)
    decide(registry, p.proposal_id)
    with registry.begin() as conn:
        workflow.apply(conn, p.proposal_id, actor="alice", reason="go", promote=True, now=NOW)
        prompts.move_label(conn, AGENT, "system", "production", "v1", actor="dev", reason="by hand", now=NOW)
    before = (row(registry, p.proposal_id), _registry_state(registry))
    with registry.begin() as conn, pytest.raises(InputError) as err:
        workflow.rollback(conn, p.proposal_id, actor="alice", reason="undo")
    assert str(err.value).startswith(f"production of {AGENT}/system points at v1, not v2: it moved since proposal "
                                     f"{p.proposal_id} was adopted")
    assert (row(registry, p.proposal_id), _registry_state(registry)) == before
    with registry.begin() as conn, pytest.raises(InputError, match="only an adopted proposal can be rolled back"):
        q = proposal(kind="config_change")
        workflow.upsert(conn, [q], day=DAY, now=NOW)
        workflow.rollback(conn, q.proposal_id, actor="alice", reason="undo")


@pytest.mark.parametrize("kind", ["tool_change", "config_change", "sla_change"])
def test_other_kinds_become_a_change_request_for_their_owner(engine, kind):
    p = proposal(kind=kind)
    add(engine, p)
    decide(engine, p.proposal_id)
    with engine.begin() as conn:
        a = workflow.apply(conn, p.proposal_id, actor="alice", reason="please do", now=NOW)
    assert (a.to_state, a.applied["action"], a.applied["change"]) == ("approved", "change_request", p.change)
    assert "owner" in a.applied["owner"] and "--apply" in a.applied["handoff"]
    assert _registry_state(engine) == ([], {}, 0)  # nothing changed automatically
    with engine.begin() as conn:
        done = workflow.apply(conn, p.proposal_id, actor="owner", reason="pinned 1.4.2", promote=True, now=NOW)
        rb = workflow.rollback(conn, p.proposal_id, actor="owner", reason="worse", now=NOW)
    assert done.to_state == "adopted" and done.applied["done_by"] == "owner"
    assert rb.to_state == "rolled_back" and rb.applied["rolled_back"]["action"] == "revert_request"


def test_apply_and_rollback_need_an_actor_and_a_reason(engine):
    p = proposal()
    add(engine, p)
    decide(engine, p.proposal_id)
    before = row(engine, p.proposal_id)
    with engine.begin() as conn:
        with pytest.raises(InputError) as err:
            workflow.apply(conn, p.proposal_id, actor="alice", reason="")
        assert str(err.value) == ("reason is empty; say why you apply it (--reason on the CLI, reason in the "
                                  "Launchpad config). Nothing was changed.")
        with pytest.raises(InputError, match="actor is missing"):
            workflow.apply(conn, p.proposal_id, actor=None, reason="x")
        with pytest.raises(InputError, match="reason is missing; say why you roll it back"):
            workflow.rollback(conn, p.proposal_id, actor="alice", reason=None)
    assert row(engine, p.proposal_id) == before
