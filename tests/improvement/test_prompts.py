"""The prompt registry on SQLite and PostgreSQL: versions and their variables, identical text
deduplicated, diffs, labels with rollback and history, the link to executions, and every bad
input refused with a message that names it — with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.improvement import prompts as P
from meta_agent.improvement.model import DEFAULT_PROMPT
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_improvement import prompt_label_events, prompt_labels, prompt_versions

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
AGENT = "support-triage"
V1 = "You are the triage agent of {company}.\nAnswer {customer}'s ticket.\n"
V2 = "You are the triage agent of {company}.\nAnswer {customer}'s ticket.\nReply as JSON: {{\"summary\": …}}\n"
V3 = "You are the triage agent of {company}.\nAnswer {customer.name}'s ticket in {language}.\n"


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (prompt_versions, prompt_labels, prompt_label_events))


def seeded(engine, texts=(V1, V2, V3)) -> list[P.PromptVersion]:
    with engine.begin() as conn:
        return [P.create_version(conn, AGENT, DEFAULT_PROMPT, t, author="ana", message=f"step {i}",
                                 now=T0 + timedelta(hours=i)) for i, t in enumerate(texts)]


def test_versions_are_numbered_per_prompt_with_their_variables(engine):
    v1, v2, v3 = seeded(engine)
    assert [v.version for v in (v1, v2, v3)] == ["v1", "v2", "v3"] and [v.seq for v in (v1, v2, v3)] == [1, 2, 3]
    assert v1.variables == ["company", "customer"] and v2.variables == ["company", "customer"]  # {{ }} are literal
    assert v3.variables == ["company", "customer", "language"]  # {customer.name} needs customer
    assert v1.parent_version is None and v2.parent_version is None  # no production label yet
    with engine.begin() as conn:
        other = P.create_version(conn, AGENT, "reply", "Draft a reply to {ticket}.", author="bo")
        assert other.version == "v1"  # numbered per agent × name
        assert P.create_version(conn, "email-drafter", DEFAULT_PROMPT, V1, author="bo").version == "v1"
        stored = P.get_version(conn, AGENT, DEFAULT_PROMPT, "v3")
        assert stored == v3 and stored.created_at == T0 + timedelta(hours=2)
        assert P.get_version(conn, AGENT, DEFAULT_PROMPT, "3") == v3  # "3" means v3
        assert P.get_version(conn, AGENT, DEFAULT_PROMPT, "v9") is None
        assert [v.version for v in P.versions(conn, AGENT, DEFAULT_PROMPT)] == ["v1", "v2", "v3"]
    doc = v3.to_dict()
    assert doc["version"] == "v3" and doc["message"] == "step 2" and doc["created_at"] == "2026-11-20T11:00:00+00:00"
    assert doc["content_hash"] == P.content_hash(V3) and len(doc["content_hash"]) == 64


def test_identical_text_returns_the_existing_version_and_writes_nothing(engine):
    v1, v2, _ = seeded(engine)
    before = counts(engine)
    with engine.begin() as conn:
        again = P.create_version(conn, AGENT, DEFAULT_PROMPT, V2, author="someone-else", message="re-import")
    assert again == v2 and counts(engine) == before
    with engine.begin() as conn:  # one character more is a new version
        assert P.create_version(conn, AGENT, DEFAULT_PROMPT, V2 + " ", author="ana").version == "v4"


def test_parent_defaults_to_production_and_an_explicit_parent_must_exist(engine):
    seeded(engine)
    with engine.begin() as conn:
        P.move_label(conn, AGENT, DEFAULT_PROMPT, "production", "v2", actor="ana", reason="ship v2")
        assert P.create_version(conn, AGENT, DEFAULT_PROMPT, V1 + "Be brief.\n", author="ana").parent_version == "v2"
        assert P.create_version(conn, AGENT, DEFAULT_PROMPT, V1 + "Be kind.\n", author="ana",
                                parent_version="v1").parent_version == "v1"
    before = counts(engine)
    with pytest.raises(InputError) as err, engine.begin() as conn:
        P.create_version(conn, AGENT, DEFAULT_PROMPT, V1 + "New.\n", author="ana", parent_version="v9")
    assert "parent_version 'v9'" in str(err.value) and "v1, v2, v3, v4, v5" in str(err.value)
    assert counts(engine) == before


def test_variables_follow_str_format_syntax():
    assert P.parse_variables("{a} {b!r} {c:>10} {d[0]} {e.f} {g:{width}} {a}") == ["a", "b", "c", "d", "e", "g",
                                                                                  "width"]
    assert P.parse_variables('JSON: {{"summary": "…"}} and {{}}') == []
    assert P.parse_variables("no placeholders at all") == []


@pytest.mark.parametrize("text, needles", [
    ("Hello {name", ["unclosed '{'", "line 1, column 7", "'{{'"]),
    ("line one\nreply }", ["'}' with no opening '{'", "line 2, column 7", "'}}'"]),
    ("Give {} three", ["'{}'", "line 1, column 6", "positional placeholder", "name the variable"]),
    ("Use {0} here", ["'{0}'", "positional placeholder"]),
    ('Reply {"summary": "x"}', ["not a variable name", "line 1, column 7", "'{{' and '}}'", "JSON"]),
    ("Say {name!x}", ["conversion '!x'", "!r, !s and !a"]),
    ("   \n\t ", ["prompt text", "is empty"]),
    ("", ["is empty"]),
])
def test_bad_text_is_refused_naming_where_and_nothing_is_written(engine, text, needles):
    seeded(engine)
    before = counts(engine)
    with pytest.raises(InputError) as err, engine.begin() as conn:
        P.create_version(conn, AGENT, DEFAULT_PROMPT, text, author="ana")
    assert all(n in str(err.value) for n in needles), str(err.value)
    assert counts(engine) == before


@pytest.mark.parametrize("kwargs, needles", [
    ({"agent_id": ""}, ["agent_id is empty"]),
    ({"agent_id": "support triage"}, ["agent_id 'support triage'", "letters, digits and _ . : -"]),
    ({"agent_id": "a" * 129}, ["agent_id", "129 characters", "at most 128"]),
    ({"name": "sys/prompt"}, ["prompt name 'sys/prompt'", "e.g. 'system'"]),
    ({"name": None}, ["prompt name is empty"]),
    ({"author": "  "}, ["author is empty"]),
    ({"source": "magic"}, ["source 'magic'", "manual, proposal, import"]),
])
def test_bad_names_are_refused_and_nothing_is_written(engine, kwargs, needles):
    args = {"agent_id": AGENT, "name": DEFAULT_PROMPT, "text": V1, "author": "ana", **kwargs}
    with pytest.raises(InputError) as err, engine.begin() as conn:
        P.create_version(conn, args.pop("agent_id"), args.pop("name"), args.pop("text"), **args)
    assert all(n in str(err.value) for n in needles), str(err.value)
    assert counts(engine) == (0, 0, 0)


def test_labels_move_log_and_roll_back(engine):
    seeded(engine)
    with engine.begin() as conn:
        first = P.move_label(conn, AGENT, DEFAULT_PROMPT, "production", "v1", actor="ana", reason="first deploy",
                             now=T0 + timedelta(days=1))
        second = P.move_label(conn, AGENT, DEFAULT_PROMPT, "production", "v3", actor="bo", reason="ship v3",
                              proposal_id="prop-123456789abc", now=T0 + timedelta(days=2))
        P.move_label(conn, AGENT, DEFAULT_PROMPT, "candidate", "v2", actor="bo", reason="try v2",
                     now=T0 + timedelta(days=2, hours=1))
    assert (first.from_version, first.to_version, first.changed) == (None, "v1", True)
    assert (second.from_version, second.to_version) == ("v1", "v3")
    with engine.connect() as conn:
        assert P.labels(conn, AGENT, DEFAULT_PROMPT) == {"candidate": "v2", "production": "v3"}
        assert P.resolve(conn, AGENT, DEFAULT_PROMPT).version == "v3"
        assert P.resolve(conn, AGENT, DEFAULT_PROMPT, "candidate").text == V2
        assert P.resolve(conn, AGENT, DEFAULT_PROMPT, "canary") is None
        row = conn.execute(sa.select(prompt_labels).where(prompt_labels.c.label == "production")).one()
        assert (row.version, row.previous_version, row.updated_by) == ("v3", "v1", "bo")
    before = counts(engine)
    with engine.begin() as conn:  # already there: a no-op, no event
        same = P.move_label(conn, AGENT, DEFAULT_PROMPT, "production", "v3", actor="cy", reason="again")
    assert (same.from_version, same.to_version, same.changed) == ("v3", "v3", False) and counts(engine) == before
    with engine.begin() as conn:
        back = P.rollback_label(conn, AGENT, DEFAULT_PROMPT, actor="cy", reason="v3 breaks the format",
                                now=T0 + timedelta(days=3))
    assert (back.from_version, back.to_version) == ("v3", "v1")
    with engine.connect() as conn:
        assert P.resolve(conn, AGENT, DEFAULT_PROMPT).version == "v1"
        history = P.label_history(conn, AGENT, DEFAULT_PROMPT)
        assert [(h["label"], h["from_version"], h["to_version"], h["actor"], h["reason"]) for h in history] == [
            ("production", "v3", "v1", "cy", "v3 breaks the format"),
            ("candidate", None, "v2", "bo", "try v2"),
            ("production", "v1", "v3", "bo", "ship v3"),
            ("production", None, "v1", "ana", "first deploy")]
        assert history[2]["proposal_id"] == "prop-123456789abc" and history[0]["at"] == T0 + timedelta(days=3)
        assert len(P.label_history(conn, AGENT, DEFAULT_PROMPT, limit=2)) == 2
    with engine.begin() as conn:  # a second rollback returns to the version rolled back from
        assert P.rollback_label(conn, AGENT, DEFAULT_PROMPT, actor="cy", reason="undo").to_version == "v3"


@pytest.mark.parametrize("call, needles", [
    (lambda c: P.move_label(c, AGENT, DEFAULT_PROMPT, "production", "v9", actor="a", reason="r"),
     ["version 'v9'", "its versions are v1, v2, v3"]),
    (lambda c: P.move_label(c, AGENT, DEFAULT_PROMPT, "production", "latest", actor="a", reason="r"),
     ["version 'latest' is not a prompt version", "v1, v2, …"]),
    (lambda c: P.move_label(c, AGENT, "reply", "production", "v1", actor="a", reason="r"),
     ["prompt 'reply' of support-triage has no versions", "has prompts system"]),
    (lambda c: P.move_label(c, "nobody", DEFAULT_PROMPT, "production", "v1", actor="a", reason="r"),
     ["has no versions", "meta-agent prompts add nobody system"]),
    (lambda c: P.move_label(c, AGENT, DEFAULT_PROMPT, "production", "v2", actor="a", reason="  "),
     ["a reason is required", "label 'production'"]),
    (lambda c: P.move_label(c, AGENT, DEFAULT_PROMPT, "production", "v2", actor="", reason="r"),
     ["actor is empty"]),
    (lambda c: P.move_label(c, AGENT, DEFAULT_PROMPT, "x" * 33, "v2", actor="a", reason="r"),
     ["label", "33 characters", "at most 32"]),
    (lambda c: P.move_label(c, AGENT, DEFAULT_PROMPT, "prod uction", "v2", actor="a", reason="r"),
     ["label 'prod uction'"]),
    (lambda c: P.rollback_label(c, AGENT, DEFAULT_PROMPT, actor="a", reason="r"),
     ["has only ever pointed at v1", "no previous version"]),
    (lambda c: P.rollback_label(c, AGENT, DEFAULT_PROMPT, "candidate", actor="a", reason="r"),
     ["label 'candidate'", "is not set", "production → v1"]),
    (lambda c: P.diff(c, AGENT, DEFAULT_PROMPT, "v1", "v7"), ["version B 'v7'", "v1, v2, v3"]),
])
def test_bad_label_moves_are_refused_and_nothing_is_written(engine, call, needles):
    seeded(engine)
    with engine.begin() as conn:
        P.move_label(conn, AGENT, DEFAULT_PROMPT, "production", "v1", actor="ana", reason="first")
    before = counts(engine)
    with pytest.raises(InputError) as err, engine.begin() as conn:
        call(conn)
    assert all(n in str(err.value) for n in needles), str(err.value)
    assert counts(engine) == before


def test_a_version_and_its_label_move_land_together_or_not_at_all(engine):
    seeded(engine)
    before = counts(engine)
    with pytest.raises(InputError), engine.begin() as conn:
        new = P.create_version(conn, AGENT, DEFAULT_PROMPT, V3 + "Cite sources.\n", author="auto:rules",
                               source="proposal", proposal_id="prop-abc")
        P.move_label(conn, AGENT, DEFAULT_PROMPT, "candidate", new.version, actor="auto:rules", reason="")
    assert counts(engine) == before


def test_diff_shows_the_changed_lines_under_versioned_headers(engine):
    seeded(engine)
    with engine.connect() as conn:
        text = P.diff(conn, AGENT, DEFAULT_PROMPT, "v1", "3")
        assert P.diff(conn, AGENT, DEFAULT_PROMPT, "v2", "v2") == ""
    lines = text.splitlines()
    assert lines[:2] == ["--- system@v1", "+++ system@v3"] and lines[2].startswith("@@")
    assert "-Answer {customer}'s ticket." in lines and "+Answer {customer.name}'s ticket in {language}." in lines
    assert " You are the triage agent of {company}." in lines
    pure = P.diff_texts("a\nb", "a\nc", "x@1", "x@2")  # no final newline either side
    assert pure == "--- x@1\n+++ x@2\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"


def test_listing_and_which_prompt_a_version_belongs_to(engine):
    seeded(engine)
    with engine.begin() as conn:
        P.create_version(conn, AGENT, "reply", "Draft {ticket}.", author="bo")
        P.create_version(conn, AGENT, "a-reply", "Draft {ticket} now.", author="bo")
        P.create_version(conn, "email-drafter", "followup", "Follow up on {thread}.", author="bo")
        P.move_label(conn, AGENT, DEFAULT_PROMPT, "production", "v2", actor="ana", reason="ship")
        assert P.list_prompts(conn, AGENT) == [
            {"agent_id": AGENT, "name": "a-reply", "versions": 1, "latest_version": "v1", "labels": {}},
            {"agent_id": AGENT, "name": "reply", "versions": 1, "latest_version": "v1", "labels": {}},
            {"agent_id": AGENT, "name": "system", "versions": 3, "latest_version": "v3",
             "labels": {"production": "v2"}}]
        assert [(p["agent_id"], p["name"]) for p in P.list_prompts(conn)][0] == ("email-drafter", "followup")
        assert P.prompt_for_version(conn, AGENT, "v1") == DEFAULT_PROMPT  # preferred among three
        assert P.prompt_for_version(conn, AGENT, "v3") == DEFAULT_PROMPT
        assert P.prompt_for_version(conn, "email-drafter", "v1") == "followup"
        assert P.prompt_for_version(conn, AGENT, "v8") is None


def _record(i: int, agent: str, version: str | None, status: str, at: datetime) -> tuple[str, dict]:
    eid = f"ex-{agent}-{i:04d}"
    return eid, {"execution_id": eid, "agent_id": agent, "started_at": at.isoformat(),
                 "ended_at": (at + timedelta(seconds=2)).isoformat(), "status": status, "latency_ms": 2000.0,
                 "model": "gpt-4o-mini", "prompt_version": version, "tokens_in": 100, "tokens_out": 20,
                 "cost_usd": 0.001}


def test_version_usage_links_executions_to_versions(engine, migrated_url):
    seeded(engine)
    records = []
    for i in range(10):  # v2: 10 runs on day 1, 2 failed
        records.append(_record(i, AGENT, "v2", "failure" if i < 2 else "success", T0 + timedelta(minutes=i)))
    for i in range(10, 16):  # v3: 6 runs on day 2, 3 failed (a timeout counts)
        status = ("failure", "timeout", "failure")[i - 10] if i < 13 else "success"
        records.append(_record(i, AGENT, "v3", status, T0 + timedelta(days=1, minutes=i)))
    records.append(_record(99, AGENT, None, "success", T0))  # no version: not linked
    records.append(_record(1, "email-drafter", "v2", "failure", T0))  # another agent's v2
    report = ingest_items(records, url=migrated_url, source="test", origin="test")
    assert report.accepted == len(records)
    with engine.connect() as conn:
        usage = P.version_usage(conn, AGENT)
        assert list(usage) == ["v2", "v3"]
        assert {k: usage["v2"][k] for k in ("executions", "failures")} == {"executions": 10, "failures": 2}
        assert usage["v2"]["success_rate"] == pytest.approx(0.8)
        assert usage["v2"]["first_seen"] == T0 and usage["v2"]["last_seen"] == T0 + timedelta(minutes=9)
        assert (usage["v3"]["executions"], usage["v3"]["failures"]) == (6, 3)
        assert usage["v3"]["success_rate"] == pytest.approx(0.5)
        assert list(P.version_usage(conn, AGENT, since=T0 + timedelta(hours=12))) == ["v3"]
        assert P.version_usage(conn, "nobody") == {}
        assert P.get_version(conn, AGENT, P.prompt_for_version(conn, AGENT, "v3"), "v3").text == V3  # the link
