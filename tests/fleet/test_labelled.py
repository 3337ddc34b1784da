"""The labelled fleet: deterministic, every category covered, labels exactly on the failures incidents caused."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

import pytest

from meta_agent.fleet.incidents import CATEGORIES
from meta_agent.fleet.labelled import BACKGROUND, labelled_fleet


@pytest.fixture(scope="module")
def lf():
    return labelled_fleet(3, days=15, per_day=120)


def test_same_seed_same_fleet_other_seed_other_fleet(lf):
    again = labelled_fleet(3, days=15, per_day=120)
    assert again.records == lf.records and again.incidents == lf.incidents
    assert again.execution_labels == lf.execution_labels
    other = labelled_fleet(4, days=15, per_day=120)
    assert [(i.kind, i.agents, i.start) for i in other.incidents] != [(i.kind, i.agents, i.start) for i in lf.incidents]


def test_every_category_has_its_incidents_and_each_caused_failures(lf):
    assert (lf.end - lf.start).days + 1 >= 14
    cats = Counter(i.category for i in lf.incidents)
    assert cats == {c: 3 for c in CATEGORIES}
    assert {i.kind for i in lf.incidents} >= {"prompt_regression", "tool_failure", "context_overflow",
                                              "empty_retrieval", "provider_outage", "rate_limit_storm"}
    per = lf.failures_per_incident()
    assert all(per.get(i.incident_id, 0) >= 5 for i in lf.incidents), per
    assert len({i.incident_id for i in lf.incidents}) == len(lf.incidents)


def test_labels_only_on_failures_inside_their_incident(lf):
    recs = {r["execution_id"]: r for r in lf.records}
    incidents = lf.by_id()
    assert lf.execution_labels
    for eid, iid in lf.execution_labels.items():
        r, inc = recs[eid], incidents[iid]
        assert r["status"] == "failure"
        assert r["agent_id"] in inc.agents
        started = datetime.fromisoformat(r["started_at"])
        assert inc.start <= started and (inc.end is None or started < inc.end)
    background = [r for r in lf.records if r["status"] == "failure" and lf.label(r["execution_id"]) == BACKGROUND]
    assert len(background) > 100  # noise all through the window
    assert not any(lf.label(r["execution_id"]) != BACKGROUND for r in lf.records if r["status"] != "failure")


def test_no_agent_has_two_incidents_on_one_day_but_some_agent_has_two(lf):
    cells = defaultdict(list)
    per_agent = Counter()
    for i in lf.incidents:
        day = i.start.date()
        end = (i.end or datetime.combine(lf.end, datetime.min.time(), i.start.tzinfo)).date()
        for a in i.agents:
            per_agent[a] += 1
            for d in range((end - day).days + 1):
                cells[(a, d + day.toordinal())].append(i.incident_id)
    assert all(len(v) == 1 for v in cells.values())
    assert max(per_agent.values()) >= 2


def test_a_provider_outage_labels_failures_on_several_agents(lf):
    recs = {r["execution_id"]: r for r in lf.records}
    for inc in (i for i in lf.incidents if i.kind == "provider_outage"):
        hit = [recs[e] for e, iid in lf.execution_labels.items() if iid == inc.incident_id]
        assert {r["model"] for r in hit} == set(inc.models) and len(inc.models) == 1
        assert {r["error_type"] for r in hit} == {"ServiceUnavailableError"}
        assert len({r["agent_id"] for r in hit}) >= 2


def test_incidents_show_their_cause_in_the_data(lf):
    recs = {r["execution_id"]: r for r in lf.records}
    for inc in lf.incidents:
        hit = [recs[e] for e, iid in lf.execution_labels.items() if iid == inc.incident_id]
        if inc.kind == "prompt_regression":
            assert {r["prompt_version"] for r in hit} == {inc.incident.version}
        elif inc.kind == "tool_failure":
            bad = [a for r in hit for a in r["actions"] if a["status"] == "failure"]
            assert {(a["name"], a["metadata"]["tool_version"]) for a in bad} == {(inc.incident.tool,
                                                                                   inc.incident.version)}
        elif inc.kind == "empty_retrieval":
            assert all(a["metadata"]["documents"] == 0 for r in hit for a in r["actions"]
                       if a["action_type"] == "retrieval")
        elif inc.kind == "context_overflow":
            assert {r["error_type"] for r in hit} == {"ContextWindowExceededError"}
        elif inc.kind == "rate_limit_storm":
            assert {r["error_type"] for r in hit} == {"RateLimitError"} and {r["model"] for r in hit} == set(inc.models)
